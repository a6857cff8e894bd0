-- GET <path> with "Authorization: Bearer <token>", cycling through a pool of tokens.
--
-- wrk ... -s bearer_pool.lua <url> -- <path> <token file> <threads>
-- The pool holds access tokens of many sessions, so lookups spread over the tables
-- instead of hitting one hot row.  Each wrk thread starts at its own offset.

local report = require("report")
report.install()

local requests = {}
local position = 0

function init(args)
  local path, token_file, thread_count = args[1], args[2], tonumber(args[3] or "1")
  for _, token in ipairs(report.read_lines(token_file)) do
    table.insert(requests, wrk.format("GET", path, {["Authorization"] = "Bearer " .. token}))
  end
  local index = thread_index or 0  -- set by report.lua's setup()
  position = math.floor(#requests * index / thread_count)
  exhausted = 0
end

function request()
  position = position % #requests + 1
  return requests[position]
end
