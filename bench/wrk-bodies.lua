-- wrk script: POST /token with the form bodies of a file, one per line, each once in order (fresh tokens);
-- counts how often the list was exhausted and started over (printed as "repeats", which should be 0).
bodies = {}
i = 0
wraps = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
end

function request()
  i = i + 1
  if i > #bodies then
    i = 1
    wraps = wraps + 1
  end
  return wrk.format("POST", "/token", { ["Content-Type"] = "application/x-www-form-urlencoded" }, bodies[i])
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do
    w = w + t:get("wraps")
  end
  io.write(string.format("repeats %d\n", w))
end
