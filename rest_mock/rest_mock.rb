#!/usr/bin/env ruby
# frozen_string_literal: true

# rest_mock: a mock of the Couchbase/Membase cluster manager's REST API, for
# developing and testing moxi. See rest_mock/README.md for the endpoints, the
# control API and a development session.
#
# Runs Sinatra under thin (EventMachine). Streams are written through
# Sinatra's `stream(:keep_open)`; thin hands every write straight to
# EventMachine's send_data, so each chunk leaves with the next reactor turn
# instead of waiting for the response to end. thin does not chunk-encode
# bodies itself, so this file writes the chunk framing.
#
# All state lives in one Hub and is only touched on the reactor thread
# (Sinatra runs the stream block on EventMachine's thread pool; that block
# only schedules work back onto the reactor).

require 'json'
require 'optparse'
require 'socket'
require 'eventmachine'
require 'thin'
require 'rack'
require 'sinatra/base'

module RestMock
  DELIMITER = "\n\n\n\n"
  REALM = 'Couchbase Server Admin / REST'
  JSON_TYPE = 'application/json; charset=utf-8'
  NOT_FOUND = "Requested resource not found.\r\n"

  class ConfigError < StandardError; end

  # Turns a config document into the list of bucket objects the mock serves.
  module Config
    module_function

    # text: a bucket object (shape B/C), a bare vBucketServerMap (shape A),
    # {"buckets":[...]} (shape D), or one moxi static-config section
    # "PORT = {json}" (shape E; the prefix is dropped).
    def parse(text, default_name)
      text = text.to_s.strip.sub(/\A\d+\s*=\s*/, '')
      raise ConfigError, 'empty config' if text.empty?

      begin
        doc = JSON.parse(text)
      rescue JSON::ParserError => e
        raise ConfigError, "config is not JSON: #{e.message.lines.first.to_s.strip}"
      end
      raise ConfigError, 'config must be a JSON object' unless doc.is_a?(Hash)

      buckets =
        if doc.key?('buckets')
          list = doc['buckets']
          raise ConfigError, '"buckets" must be an array of objects' unless list.is_a?(Array) && list.all?(Hash)

          list.map { |b| bucket(b, default_name) }
        else
          [bucket(doc, default_name)]
        end
      names = buckets.map { |b| b['name'] }
      dup = names.find { |n| names.count(n) > 1 }
      raise ConfigError, "bucket \"#{dup}\" appears twice" if dup

      buckets
    end

    # A bucket object as served. A bare map is wrapped into an envelope; an
    # envelope is served as given, plus name/uri/streamingUri when missing
    # (clients bootstrap through them).
    def bucket(doc, default_name)
      doc = doc.dup
      if doc.key?('serverList') || doc.key?('vBucketMap')
        name = doc.delete('name') || default_name
        out = { 'name' => name, 'bucketType' => 'membase', 'authType' => 'sasl' }
        out['saslPassword'] = doc.delete('saslPassword') if doc.key?('saslPassword')
        out['nodeLocator'] = 'vbucket'
        nodes = doc.delete('nodes')
        out['nodes'] = nodes if nodes
        out['vBucketServerMap'] = doc
        doc = out
      end
      name = doc['name'] || default_name
      raise ConfigError, 'bucket "name" must be a non-empty string' unless name.is_a?(String) && !name.empty?
      raise ConfigError, "bucket name \"#{name}\" may not contain '/'" if name.include?('/')

      doc['name'] = name
      doc['uri'] ||= "/pools/default/buckets/#{name}"
      doc['streamingUri'] ||= "/pools/default/bucketsStreaming/#{name}"
      doc
    end

    # The built-in config: one vBucket bucket over `servers`, no replicas,
    # vBucket v mastered by servers[v % servers.size].
    def default(name, servers, vbuckets)
      {
        'name' => name, 'bucketType' => 'membase', 'authType' => 'sasl', 'saslPassword' => '',
        'nodeLocator' => 'vbucket',
        'uri' => "/pools/default/buckets/#{name}",
        'streamingUri' => "/pools/default/bucketsStreaming/#{name}",
        'vBucketServerMap' => {
          'hashAlgorithm' => 'CRC', 'numReplicas' => 0, 'serverList' => servers,
          'vBucketMap' => Array.new(vbuckets) { |v| [v % servers.size] }
        }
      }
    end
  end

  # One open streaming response.
  class Stream
    attr_reader :kind, :bucket_name, :id

    # kind: :bucket (one bucket object per config), :terse (one terse config
    # per config, $HOST left in) or :all ({"buckets":[...]}).
    def initialize(hub, out, id:, kind:, bucket_name:, host:, chunked:, heartbeat:)
      @hub = hub
      @out = out
      @id = id
      @kind = kind
      @bucket_name = bucket_name
      @host = host
      @chunked = chunked
      @pending = [] # documents held back while stalled
      @open = true
      @timer = nil
      return unless heartbeat

      @timer = EM.add_periodic_timer(heartbeat) do
        next if @hub.stalled?

        write_document(DELIMITER)
        @hub.counters['heartbeats_sent'] += 1
        @hub.changed
      end
    end

    def open?
      @open
    end

    # Sends the current config for this stream (or ends the stream cleanly
    # if its bucket is gone, as ns_server does when a bucket is deleted).
    def push_config
      json = @hub.document_for(self)
      return send_document(nil, :end) unless json

      send_document(served(json), :config)
    end

    # The cluster manager replaces $HOST in full bucket info only; the terse
    # endpoints hand it out as the data nodes do.
    def served(json)
      @kind == :terse ? json : json.gsub('$HOST', @host)
    end

    # One document: its own chunk, then the delimiter as a separate chunk
    # (what :end, doc nil: the clean end of the stream). Held back while the
    # hub is stalled.
    def send_document(doc, what)
      return unless @open
      return @pending << [doc, what] if @hub.stalled?
      return finish(clean: true) if what == :end

      # :rest ends a document begun by stall_mid_document.
      write_document(doc) unless doc.empty?
      return write_document(DELIMITER) if what == :rest

      write_document(DELIMITER)
      @hub.counters[what == :config ? 'configs_pushed' : 'garbage_pushed'] += 1
    end

    # A stall in the middle of a document: the first `bytes` bytes of this
    # stream's current config now, the rest (and the delimiter) first thing
    # at resume. Called while the hub is stalled.
    def stall_mid_document(bytes)
      json = @hub.document_for(self)
      return unless @open && json

      json = served(json)
      head = json.byteslice(0, [bytes, json.bytesize - 1].min)
      write_document(head)
      @pending.unshift([json.byteslice(head.bytesize..), :rest])
    end

    # Sends what was held back during a stall.
    def flush_pending
      held = @pending
      @pending = []
      held.each { |doc, what| send_document(doc, what) }
    end

    def pending
      @pending.size
    end

    # Ends the response. clean: with the terminating zero-length chunk (the
    # response completes); otherwise the connection just closes mid-stream.
    def finish(clean:)
      return unless @open

      @out << (@chunked ? "0\r\n\r\n" : '') if clean
      @out.close # runs the callbacks, which unregister this stream
    end

    # Called once the response is over, whoever ended it.
    def closed
      @open = false
      @timer&.cancel
      @timer = nil
    end

    private

    def write_document(data)
      @out << (@chunked ? "#{data.bytesize.to_s(16)}\r\n#{data}\r\n" : data)
    end
  end

  # The mock's whole state: the buckets, the open streams, the injected
  # faults and the counters. Reactor thread only.
  class Hub
    COUNTERS = %w[streams_opened configs_pushed heartbeats_sent garbage_pushed config_version auth_failures
                  errors_injected].freeze

    attr_reader :counters, :delay_ms
    attr_accessor :mgmt_port # the mock's own port, the nodes' "mgmt" service

    def initialize(buckets)
      @initial = buckets
      @streams = {}
      @next_id = 0
      @waiters = []
      reset_state
    end

    def reset_state
      @buckets = @initial.map(&:dup)
      @delay_ms = 0
      @error_status = nil
      @error_count = 0
      @stalled = false
      @counters = Hash.new(0)
      COUNTERS.each { |c| @counters[c] = 0 }
      @requests = Hash.new(0)
    end

    # ---- configuration

    def buckets
      @buckets
    end

    def bucket(name)
      @buckets.find { |b| b['name'] == name }
    end

    def document_for(stream)
      return JSON.generate('buckets' => @buckets) if stream.kind == :all

      b = bucket(stream.bucket_name)
      return nil unless b

      JSON.generate(stream.kind == :terse ? terse(b) : b)
    end

    # A bucket as the terse endpoints serve it: its rev (the bucket's own
    # "rev" if the config gives one, else 1 + the number of config changes),
    # revEpoch (the config's, else 1) and nodesExt (the config's, else one
    # node per data server: its kv port and the mock's port as mgmt, no
    # "hostname" for a $HOST server, thisNode on the first).
    def terse(bucket)
      doc = bucket.dup
      doc['rev'] ||= @counters['config_version'] + 1
      doc['revEpoch'] ||= 1
      doc['nodesExt'] ||= data_servers(doc).uniq.each_with_index.map { |s, i| node_ext(s, i.zero?) }
      doc
    end

    def data_servers(bucket)
      map = bucket['vBucketServerMap']
      return map['serverList'] if map.is_a?(Hash) && map['serverList'].is_a?(Array)

      (bucket['nodes'] || []).map do |n|
        "#{n['hostname'].to_s.sub(/:\d+\z/, '')}:#{n.dig('ports', 'direct')}"
      end
    end

    def node_ext(authority, this_node)
      host, _, port = authority.to_s.rpartition(':')
      ext = { 'services' => { 'mgmt' => @mgmt_port, 'kv' => port.to_i } }
      ext['thisNode'] = true if this_node
      ext['hostname'] = host.delete_prefix('[').delete_suffix(']') unless host == '$HOST'
      ext
    end

    # Replaces every bucket and pushes the new config to every open stream.
    def replace(buckets)
      @buckets = buckets
      @counters['config_version'] += 1
      @streams.values.each(&:push_config)
      changed
    end

    # ---- streams

    def open_stream(out, **args)
      # The client may have gone while the stream block was queued.
      return if out.closed?

      stream = Stream.new(self, out, id: (@next_id += 1), **args)
      @streams[stream.id] = stream
      @counters['streams_opened'] += 1
      out.callback { unregister(stream) }
      stream.push_config
      changed
    end

    def unregister(stream)
      stream.closed
      changed if @streams.delete(stream.id)
    end

    def open_streams
      @streams.size
    end

    def drop(clean:)
      n = @streams.size
      @streams.values.each { |s| s.finish(clean: clean) }
      n
    end

    # ---- faults

    def delay_ms=(ms)
      @delay_ms = ms
      changed
    end

    def inject_errors(status, count)
      @error_status = status
      @error_count = count
      changed
    end

    # The status for this request if an error is pending, else nil.
    def take_error
      return nil if @error_count <= 0

      @error_count -= 1
      @counters['errors_injected'] += 1
      @error_status
    end

    def garbage(size)
      doc =
        if size
          # Starts like a JSON object, never ends, and has no newline, so the
          # delimiter cannot occur inside it.
          head = '{"garbage":"'
          head[0, size] + ('x' * [size - head.bytesize, 0].max)
        else
          'this is not JSON {"rest_mock":'
        end
      @streams.values.each { |s| s.send_document(doc, :garbage) }
      changed
      @streams.size
    end

    def stalled?
      @stalled
    end

    # partial: also begin the current config on every open stream and stop
    # after `partial` bytes (Stream#stall_mid_document).
    def stall(partial = nil)
      @stalled = true
      @streams.values.each { |s| s.stall_mid_document(partial) } if partial
      changed
    end

    def resume
      @stalled = false
      @streams.values.each(&:flush_pending)
      changed
    end

    def reset
      @streams.values.each { |s| s.finish(clean: false) }
      reset_state
      changed
    end

    # ---- counters and waiting

    def count_request(path)
      @requests[path] += 1
      changed
    end

    def state
      {
        'open_streams' => @streams.size,
        'pending' => @streams.values.sum(&:pending),
        'stalled' => @stalled,
        'delay_ms' => @delay_ms,
        'error_status' => @error_count.positive? ? @error_status : nil,
        'errors_remaining' => @error_count,
        'buckets' => @buckets.map { |b| b['name'] },
        'requests' => @requests.dup
      }.merge(@counters)
    end

    # Calls the block with the state once cond(state) holds, or with nil
    # after timeout seconds.
    def wait(cond, timeout, &done)
      return done.call(state) if cond.call(state)

      waiter = { cond: cond, done: done }
      waiter[:timer] = EM::Timer.new(timeout) do
        @waiters.delete(waiter)
        done.call(nil)
      end
      @waiters << waiter
    end

    # Something observable changed: answer the waiters whose condition holds.
    def changed
      return if @waiters.empty?

      now = state
      ready, @waiters = @waiters.partition { |w| w[:cond].call(now) }
      ready.each do |w|
        w[:timer].cancel
        w[:done].call(now)
      end
    end
  end

  # In front of the Sinatra app for every non-control request: counts it,
  # applies the injected delay (without blocking the reactor), then injected
  # errors, then basic auth.
  class Gate
    def initialize(app, hub, credentials, log)
      @app = app
      @hub = hub
      @credentials = credentials
      @log = log
    end

    def call(env)
      path = env['PATH_INFO'].to_s
      @log&.puts("#{env['REQUEST_METHOD']} #{path}#{env['QUERY_STRING'].to_s.empty? ? '' : "?#{env['QUERY_STRING']}"}")
      if path.start_with?('/control/')
        # curl --data-binary labels a JSON map as a form; Rack would parse a
        # big one as form fields and fail before any route runs.
        if env['CONTENT_TYPE'].to_s.start_with?('application/x-www-form-urlencoded') && (input = env['rack.input'])
          head = input.read(64).to_s
          input.rewind
          env['CONTENT_TYPE'] = 'application/json' if head.lstrip.start_with?('{')
        end
        return @app.call(env)
      end

      @hub.count_request(path)
      delay = @hub.delay_ms
      callback = env['async.callback']
      return serve(env) unless delay.positive? && callback

      EM.add_timer(delay / 1000.0) do
        # A stream throws :async itself (Sinatra answers through the callback).
        result = catch(:async) { serve(env) }
        callback.call(result) if result
      end
      throw :async
    end

    private

    def serve(env)
      if (status = @hub.take_error)
        headers = { 'Content-Type' => 'text/plain' }
        headers['WWW-Authenticate'] = %(Basic realm="#{REALM}") if status == 401
        body = "rest_mock: injected error #{status}\n"
        headers['Content-Length'] = body.bytesize.to_s
        return [status, headers, [body]]
      end
      return @app.call(env) unless @credentials

      auth = Rack::Auth::Basic::Request.new(env)
      return @app.call(env) if auth.provided? && auth.basic? && auth.credentials == @credentials

      @hub.counters['auth_failures'] += 1
      [401, { 'WWW-Authenticate' => %(Basic realm="#{REALM}"), 'Content-Type' => 'text/plain',
              'Content-Length' => '0' }, []]
    end
  end

  class App < Sinatra::Base
    set :protection, false
    set :show_exceptions, false
    set :raise_errors, false
    set :dump_errors, true
    set :logging, nil
    set :environment, :production

    helpers do
      def hub
        settings.hub
      end

      def json(obj, status_code = 200)
        status status_code
        content_type JSON_TYPE
        JSON.generate(obj)
      end

      # The host the client asked for; replaces "$HOST" in served configs.
      def client_host
        request.host
      end

      def bucket_json(bucket)
        JSON.generate(bucket).gsub('$HOST', client_host)
      end

      # Query, form and (for a JSON object body) body parameters.
      def control_params
        merged = params.to_h
        body = request.body.read
        request.body.rewind
        if body.lstrip.start_with?('{')
          begin
            obj = JSON.parse(body)
            merged = obj.transform_values(&:to_s).merge(merged) if obj.is_a?(Hash)
          rescue JSON::ParserError
            nil
          end
        end
        merged
      end

      def int_param(p, name, default: nil, min: 0)
        raw = p[name]
        return default if raw.nil? || raw == ''
        halt json({ 'error' => "#{name} must be an integer >= #{min}" }, 400) unless raw.to_s =~ /\A\d+\z/

        v = raw.to_i
        halt json({ 'error' => "#{name} must be an integer >= #{min}" }, 400) if v < min
        v
      end

      def open_stream(kind, name)
        halt 404, { 'Content-Type' => 'text/plain' }, NOT_FOUND if kind != :all && !hub.bucket(name)

        heartbeat = nil
        if params['heartbeat']
          heartbeat = Float(params['heartbeat'], exception: false)
          halt 400, { 'Content-Type' => 'text/plain' }, "bad heartbeat\n" unless heartbeat&.positive?
        end
        # HTTP/1.0 clients get the raw documents on a connection that ends
        # with the stream (like moxi's old nc-based tests); 1.1 gets chunks.
        chunked = env['HTTP_VERSION'] != 'HTTP/1.0'
        status 200
        content_type JSON_TYPE
        headers 'Cache-Control' => 'no-cache'
        headers 'Transfer-Encoding' => 'chunked' if chunked
        host = client_host
        h = hub
        stream(:keep_open) do |out|
          EM.schedule do
            h.open_stream(out, kind: kind, bucket_name: name, host: host, chunked: chunked, heartbeat: heartbeat)
          end
        end
      end
    end

    # ---- the cluster manager's REST API

    get '/pools' do
      json('pools' => [{ 'name' => 'default', 'uri' => '/pools/default',
                         'streamingUri' => '/poolsStreaming/default' }],
           'isAdminCreds' => true, 'uuid' => 'rest_mock',
           'implementationVersion' => '1.8.1-rest_mock', 'componentsVersion' => { 'rest_mock' => '1' })
    end

    get '/pools/default' do
      json('name' => 'default',
           'nodes' => [{ 'hostname' => "#{client_host}:#{request.port}", 'status' => 'healthy',
                         'clusterMembership' => 'active', 'thisNode' => true }],
           'buckets' => { 'uri' => '/pools/default/buckets' },
           'controllers' => {}, 'stats' => { 'uri' => '/pools/default/stats' })
    end

    get '/pools/default/buckets' do
      content_type JSON_TYPE
      "[#{hub.buckets.map { |b| bucket_json(b) }.join(',')}]"
    end

    get %r{/pools/default/buckets/([^/]+)} do |name|
      b = hub.bucket(name)
      halt 404, { 'Content-Type' => 'text/plain' }, NOT_FOUND unless b
      content_type JSON_TYPE
      bucket_json(b)
    end

    # The terse config ($HOST left in), one document and a stream.
    get %r{/pools/default/b/([^/]+)} do |name|
      b = hub.bucket(name)
      halt 404, { 'Content-Type' => 'text/plain' }, NOT_FOUND unless b
      content_type JSON_TYPE
      JSON.generate(hub.terse(b))
    end

    get %r{/pools/default/bs/([^/]+)} do |name|
      open_stream(:terse, name)
    end

    get %r{/pools/default/bucketsStreaming/([^/]+)} do |name|
      open_stream(:bucket, name)
    end

    get %r{/pools/default/bucketsStreamingConfig/([^/]+)} do |name|
      open_stream(:bucket, name)
    end

    get '/pools/default/saslBucketsStreaming' do
      open_stream(:all, nil)
    end

    # ---- control API (no auth, no delay, no injected errors)

    post '/control/config' do
      # A raw JSON body is the config (Gate relabels curl's form type).
      raw = request.body.read
      request.body.rewind
      text = raw.lstrip.start_with?('{') ? raw : (params['config'] || raw)
      begin
        buckets = Config.parse(text, settings.default_bucket)
      rescue ConfigError => e
        halt json({ 'error' => e.message }, 400)
      end
      hub.replace(buckets)
      json(hub.state)
    end

    post '/control/drop' do
      p = control_params
      clean = %w[1 true yes].include?(p['clean'].to_s)
      dropped = hub.drop(clean: clean)
      json(hub.state.merge('dropped' => dropped))
    end

    post '/control/delay' do
      hub.delay_ms = int_param(control_params, 'ms', default: 0)
      json(hub.state)
    end

    post '/control/error' do
      p = control_params
      status_code = int_param(p, 'status', default: 500, min: 100)
      halt json({ 'error' => 'status must be 100..599' }, 400) if status_code > 599
      hub.inject_errors(status_code, int_param(p, 'count', default: 1))
      json(hub.state)
    end

    post '/control/garbage' do
      size = int_param(control_params, 'size', min: 1)
      pushed = hub.garbage(size)
      json(hub.state.merge('pushed_to' => pushed))
    end

    post '/control/stall' do
      hub.stall(int_param(control_params, 'partial', min: 1))
      json(hub.state)
    end

    post '/control/resume' do
      hub.resume
      json(hub.state)
    end

    post '/control/reset' do
      hub.reset
      json(hub.state)
    end

    get '/control/state' do
      json(hub.state)
    end

    # Long poll: answers once every condition holds (200), or after
    # timeout_ms with 408; the body is the state either way.
    # NAME=N waits for counter NAME == N, min_NAME=N for NAME >= N;
    # min_requests=N with path=P for N requests to P.
    get '/control/wait' do
      p = params.to_h
      timeout = int_param(p, 'timeout_ms', default: 5000) / 1000.0
      counters = hub.state.select { |_, v| v.is_a?(Integer) }.keys
      conds = p.except('timeout_ms', 'path').map do |k, _|
        n = int_param(p, k)
        key = k.delete_prefix('min_')
        if k == 'min_requests'
          path = p['path'].to_s
          ->(s) { s['requests'][path].to_i >= n }
        elsif k != key && counters.include?(key)
          ->(s) { s[key] >= n }
        elsif counters.include?(k)
          ->(s) { s[k] == n }
        else
          halt json({ 'error' => "unknown condition #{k}" }, 400)
        end
      end
      cond = ->(s) { conds.all? { |c| c.call(s) } }
      return json(hub.state) if cond.call(hub.state)

      callback = env['async.callback']
      hub.wait(cond, timeout) do |state|
        code = state ? 200 : 408
        body = JSON.generate(state || hub.state)
        callback.call([code, { 'Content-Type' => JSON_TYPE, 'Content-Length' => body.bytesize.to_s }, [body]])
      end
      throw :async
    end

    not_found do
      content_type 'text/plain'
      NOT_FOUND
    end
  end

  module_function

  def parse_options(argv)
    opts = { port: 8091, host: '127.0.0.1', bucket: 'default', servers: [], vbuckets: 64 }
    OptionParser.new do |o|
      o.banner = 'usage: ruby rest_mock.rb [options]  (see rest_mock/README.md)'
      o.on('-p', '--port PORT', Integer, 'port to listen on; 0 = any free port (default 8091)') { |v| opts[:port] = v }
      o.on('--host HOST', 'address to bind (default 127.0.0.1)') { |v| opts[:host] = v }
      o.on('--config FILE', 'bucket config to serve (bucket object, bare map, {"buckets":[...]}, or PORT = {json})') do |v|
        opts[:config] = v
      end
      o.on('--bucket NAME', 'name of the built-in bucket and of a bare map (default "default")') { |v| opts[:bucket] = v }
      o.on('--server HOST:PORT', 'a server of the built-in bucket (repeatable; default 127.0.0.1:11210)') do |v|
        opts[:servers] << v
      end
      o.on('--vbuckets N', Integer, 'vBuckets in the built-in bucket (default 64)') { |v| opts[:vbuckets] = v }
      o.on('--auth USER:PASS', 'require HTTP basic auth on every non-control endpoint') do |v|
        user, sep, pass = v.partition(':')
        raise OptionParser::InvalidArgument, "--auth #{v} (want USER:PASS)" if sep.empty? || user.empty?

        opts[:auth] = [user, pass]
      end
      o.on('--port-file FILE', 'once listening, write "TCP INET: <port>" to FILE.lck and rename it to FILE') do |v|
        opts[:port_file] = v
      end
      o.on('-v', '--verbose', 'log each request to stderr') { opts[:verbose] = true }
    end.parse!(argv)
    raise OptionParser::InvalidArgument, "unexpected argument #{argv.first}" unless argv.empty?
    unless opts[:vbuckets].positive? && (opts[:vbuckets] & (opts[:vbuckets] - 1)).zero?
      raise OptionParser::InvalidArgument, '--vbuckets must be a power of two'
    end

    opts[:servers] = ['127.0.0.1:11210'] if opts[:servers].empty?
    opts
  end

  def initial_buckets(opts)
    if opts[:config]
      Config.parse(File.read(opts[:config]), opts[:bucket])
    else
      [Config.default(opts[:bucket], opts[:servers], opts[:vbuckets])]
    end
  end

  def write_port_file(path, port)
    File.write("#{path}.lck", "TCP INET: #{port}\n")
    File.rename("#{path}.lck", path)
  end

  def main(argv)
    opts = parse_options(argv)
    hub = Hub.new(initial_buckets(opts))
    App.set :hub, hub
    App.set :default_bucket, opts[:bucket]
    log = opts[:verbose] ? $stderr : nil
    app = Gate.new(App.new, hub, opts[:auth], log)
    Thin::Logging.silent = true
    $stdout.sync = true
    $stderr.sync = true

    EM.run do
      # A bug in a handler should fail that request, not end the mock.
      EM.error_handler { |e| warn "rest_mock: #{e.class}: #{e.message}\n  #{e.backtrace&.first(5)&.join("\n  ")}" }
      # No inactivity timeout: streams may be quiet for a long time.
      server = Thin::Server.new(opts[:host], opts[:port], app, signals: false, timeout: 0)
      server.start # the reactor is running, so this only binds
      port = server.backend.port
      hub.mgmt_port = port
      %w[TERM INT].each { |sig| trap(sig) { EM.stop } }
      puts "rest_mock listening on #{opts[:host]}:#{port}"
      write_port_file(opts[:port_file], port) if opts[:port_file]
    end
  rescue OptionParser::ParseError, ConfigError, SystemCallError => e
    warn "rest_mock: #{e.message}"
    exit 64
  rescue RuntimeError => e
    # EventMachine: "no acceptor (port is in use or requires root privileges)"
    warn "rest_mock: #{e.message}"
    exit 71
  end
end

RestMock.main(ARGV) if $PROGRAM_NAME == __FILE__
