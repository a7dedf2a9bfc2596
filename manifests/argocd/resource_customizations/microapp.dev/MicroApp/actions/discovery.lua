-- The actions Argo CD offers on a MicroApp. Every action writes an annotation the operator acts
-- on, never spec or labels Git holds, so self-heal leaves the result alone.
--   wake          an asleep app (Idle, Retiring) back to its declared replicas
--   snooze        postpone idling and retirement by a week (microapp.dev/snooze-until)
--   mark-active   count now as activity (microapp.dev/last-activity): an app in use without traffic
--   restore       only for a Retired app: bring it back from its archive
local actions = {}
local phase = "Pending"
if obj.status ~= nil and obj.status.phase ~= nil then phase = obj.status.phase end
local asleep = phase == "Idle" or phase == "Retiring"

actions["wake"] = {["disabled"] = not asleep, ["iconClass"] = "fa fa-fw fa-sun", ["displayName"] = "Wake up"}
actions["snooze"] = {["disabled"] = phase == "Retired", ["iconClass"] = "fa fa-fw fa-bed",
                     ["displayName"] = "Keep awake for a week"}
actions["mark-active"] = {["disabled"] = phase == "Retired", ["iconClass"] = "fa fa-fw fa-hand-pointer",
                          ["displayName"] = "Mark as in use now"}
if phase == "Retired" then
  actions["restore"] = {["iconClass"] = "fa fa-fw fa-undo", ["displayName"] = "Restore"}
end
return actions
