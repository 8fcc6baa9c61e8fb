-- wrk script for bench/run: HTTP/1.1 pipelining as in TechEmpower's
-- plaintext test. init() builds DEPTH copies of the request (DEPTH is the
-- first script argument, default 16); request() returns them all, so each
-- write carries DEPTH requests. wrk's parser counts every response, so
-- summary.requests is the number of responses completed.
init = function(args)
   local depth = tonumber(args[1]) or 16
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format()
   end
   req = table.concat(r)
end

request = function()
   return req
end

-- done(): the same machine-readable line as plain runs.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
