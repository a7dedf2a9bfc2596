-- Wake an asleep app: any new value of microapp.dev/wake wakes it (the operator records the last one honoured).
-- UTC now as RFC 3339. (Argo CD's os.date ignores "!" when given a time; with none it honours it.)
local os = require("os")
local function now() return os.date("!%Y-%m-%dT%H:%M:%SZ") end
local function annotate(key, value)
  if obj.metadata.annotations == nil then obj.metadata.annotations = {} end
  obj.metadata.annotations[key] = value
end
annotate("microapp.dev/wake", now())
return obj
