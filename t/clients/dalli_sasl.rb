# Ruby's Dalli (Debian's ruby-dalli) as a real SASL client of moxi: logs in
# with the binary protocol's SASL PLAIN as USER/PASSWORD, sets KEY to VALUE
# and gets it back.
#
#   ruby dalli_sasl.rb HOST:PORT USER PASSWORD KEY VALUE
#
# Prints "set ok" or "set failed: ERROR", then "get VALUE", "get miss" or
# "get failed: ERROR". Exits 0 when the value came back, 1 when an
# operation failed, 2 on a usage error.
require 'dalli'
require 'logger'

if ARGV.size != 5
  warn 'usage: dalli_sasl.rb HOST:PORT USER PASSWORD KEY VALUE'
  exit 2
end
server, user, password, key, value = ARGV
$stdout.sync = true
Dalli.logger = Logger.new($stderr, level: Logger::WARN)
# raw: values go as they are (no Marshal); no retries: one login a request.
client = Dalli::Client.new(server, username: user, password: password, socket_timeout: 2,
                                   socket_max_failures: 1, down_retry_delay: 0)
ok = true
begin
  client.set(key, value, 0, raw: true)
  puts 'set ok'
rescue Dalli::DalliError => e
  puts "set failed: #{e.class}: #{e.message}"
  ok = false
end
begin
  got = client.get(key, raw: true)
  puts(got.nil? ? 'get miss' : "get #{got}")
  ok &&= got == value
rescue Dalli::DalliError => e
  puts "get failed: #{e.class}: #{e.message}"
  ok = false
end
exit(ok ? 0 : 1)
