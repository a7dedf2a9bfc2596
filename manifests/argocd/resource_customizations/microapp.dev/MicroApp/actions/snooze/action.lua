-- Postpone idling and idle-based retirement by 7 days (a week; edit the 7 for another period): microapp.dev/snooze-until, in UTC.
local os = require("os")
-- Argo CD's os.date formats a given time in local time even with "!": shift by the local offset.
local offset = os.time() - os.time(os.date("!*t"))
local function annotate(key, value)
  if obj.metadata.annotations == nil then obj.metadata.annotations = {} end
  obj.metadata.annotations[key] = value
end
annotate("microapp.dev/snooze-until", os.date("%Y-%m-%dT%H:%M:%SZ", os.time() + 7 * 86400 - offset))
return obj
