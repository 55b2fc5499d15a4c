-- wrk script: POST /token with the form bodies of a file, one per line, each once in order (fresh tokens);
-- counts how often the list was exhausted and started over (printed as "repeats", which should be 0).
-- An optional second file holds one DPoP proof per request: the bodies are then cycled, and "repeats" counts
-- how often the (single-use) proofs ran out.
bodies = {}
proofs = {}
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
  if args[2] then
    for line in io.lines(args[2]) do
      proofs[#proofs + 1] = line
    end
  end
end

function request()
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  i = i + 1
  if #proofs > 0 then
    if i > #proofs then
      i = 1
      wraps = wraps + 1
    end
    headers["DPoP"] = proofs[i]
    return wrk.format("POST", "/token", headers, bodies[(i - 1) % #bodies + 1])
  end
  if i > #bodies then
    i = 1
    wraps = wraps + 1
  end
  return wrk.format("POST", "/token", headers, bodies[i])
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do
    w = w + t:get("wraps")
  end
  io.write(string.format("repeats %d\n", w))
end
