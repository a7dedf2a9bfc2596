-- Argo CD health of a MicroApp (microapp.dev/v1alpha1), from the operator's status.
-- Rules, first match wins:
--   1. being deleted                                  -> Progressing (names blocking finalizers; Argo CD
--                                                        itself answers "Pending deletion" before any script)
--   2. no status yet, or observedGeneration behind    -> Progressing (the operator has not seen this spec)
--   3. Stalled=True                                   -> Degraded, with the operator's message
--   4. Idle, Retiring or Retired phase, or Suspended  -> Suspended (asleep or retired on purpose)
--   5. Reconciling=True                               -> Progressing, with what is not ready
--   6. Ready=True                                     -> Healthy
--   7. anything else                                  -> Progressing
-- Every message says the phase and, where known, the cost against the budget and the first
-- policy finding, in words a citizen developer reads.
local hs = {}

local function condition(status, ctype)
  if status == nil or status.conditions == nil then return nil end
  for _, c in ipairs(status.conditions) do
    if c.type == ctype then return c end
  end
  return nil
end

local function is_true(status, ctype)
  local c = condition(status, ctype)
  return c ~= nil and c.status == "True"
end

local function cost(status)
  if status == nil or status.cost == nil or status.cost.estimatedMonthly == nil then return "" end
  local text = "; " .. status.cost.estimatedMonthly .. " " .. (status.cost.currency or "USD") .. "/month"
  local budget = condition(status, "WithinBudget")
  if budget ~= nil and budget.status == "False" and budget.message ~= nil then
    text = text .. " (" .. budget.message .. ")"
  end
  return text
end

local function finding(status)
  if status ~= nil and status.violations ~= nil and status.violations[1] ~= nil then
    local more = ""
    if status.violations[2] ~= nil then more = " (and " .. (#status.violations - 1) .. " more)" end
    return "; policy: " .. status.violations[1] .. more
  end
  return ""
end

local function say(status, phase, text)
  return phase .. ": " .. text .. cost(status) .. finding(status)
end

local status = obj.status
local generation = obj.metadata.generation or 0

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  if obj.metadata.finalizers ~= nil and obj.metadata.finalizers[1] ~= nil then
    hs.message = "Deleting: waiting for finalizers " .. table.concat(obj.metadata.finalizers, ", ")
  else
    hs.message = "Deleting"
  end
  return hs
end

if status == nil or status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the microapp operator to pick up this app (no status yet)"
  return hs
end

if status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the microapp operator to process the latest change (generation " ..
    generation .. ", seen " .. status.observedGeneration .. ")"
  return hs
end

local phase = status.phase or "Pending"

local stalled = condition(status, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = say(status, phase, (stalled.message or stalled.reason or "stalled"))
  return hs
end

if phase == "Idle" or phase == "Retiring" or phase == "Retired" or phase == "Suspended" then
  hs.status = "Suspended"
  local text
  if phase == "Idle" then
    text = "asleep for lack of activity; any request, a microapp.dev/wake annotation or the 'wake' action wakes it"
  elseif phase == "Retiring" then
    local at = ""
    if status.lifecycle ~= nil and status.lifecycle.retireAt ~= nil then at = " on " .. status.lifecycle.retireAt end
    text = "asleep and retired" .. at .. " unless used; the 'wake' or 'snooze' action keeps it"
  elseif phase == "Retired" then
    text = "workload removed, spec archived; the 'restore' action brings it back"
  else
    text = "scaled to zero by spec.suspend"
  end
  hs.message = say(status, phase, text)
  return hs
end

local reconciling = condition(status, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = say(status, phase, reconciling.message or "rolling out")
  return hs
end

local ready = condition(status, "Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  local where = ""
  if status.url ~= nil then where = " at " .. status.url end
  hs.message = say(status, phase, "ready" .. where)
  return hs
end

hs.status = "Progressing"
if ready ~= nil and ready.message ~= nil then
  hs.message = say(status, phase, ready.message)
else
  hs.message = say(status, phase, "not ready yet")
end
return hs
