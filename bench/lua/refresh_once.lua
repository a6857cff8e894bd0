-- POST <path> with "Authorization: Bearer <refresh token>", each token exactly once.
--
-- wrk ... -s refresh_once.lua <url> -- <path> <token file> <threads>
-- Thread i of n uses every n-th token.  When a thread runs out, it counts the
-- shortfall in `exhausted` and sends a tokenless refresh (401), so an undersized
-- pool shows up as errors instead of as replayed tokens revoking sessions.

local report = require("report")
report.install()

local requests = {}
local position = 0
local fallback

function init(args)
  local path, token_file, thread_count = args[1], args[2], tonumber(args[3] or "1")
  local index = thread_index or 0  -- set by report.lua's setup()
  for i, token in ipairs(report.read_lines(token_file)) do
    if (i - 1) % thread_count == index then
      table.insert(requests,
                   wrk.format("POST", path, {["Authorization"] = "Bearer " .. token}))
    end
  end
  fallback = wrk.format("POST", path)
  exhausted = 0
end

function request()
  position = position + 1
  if position > #requests then
    exhausted = exhausted + 1
    return fallback
  end
  return requests[position]
end
