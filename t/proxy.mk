# t/ fragment: end-to-end tests of the moxi binary against real memcached.
check_PROGRAMS += t/proxy_tests
TESTS += t/proxy_tests
t_proxy_tests_SOURCES = \
	t/proxy/cluster.cc t/proxy/cluster.h t/proxy/rest_moxi.h \
	t/proxy/ascii_commands_test.cc \
	t/proxy/binary_commands_test.cc \
	t/proxy/faults_test.cc \
	t/proxy/budget_test.cc \
	t/proxy/sasl_test.cc \
	t/proxy/gateway_test.cc \
	t/proxy/couchbase_auth_test.cc \
	t/proxy/backend_faults_test.cc \
	t/proxy/load_test.cc \
	t/proxy/topology_test.cc \
	t/proxy/live_config_test.cc \
	t/proxy/operations_test.cc \
	t/proxy/resources_test.cc \
	t/proxy/inflight_test.cc \
	t/proxy/stats_test.cc \
	t/proxy/conformance_test.cc \
	t/proxy/meta_test.cc \
	t/proxy/dns_test.cc \
	t/proxy/data_node_test.cc \
	t/proxy/tls_test.cc
# Real SASL clients the gateway tests run (ruby-dalli, php-memcached).
EXTRA_DIST += t/clients/dalli_sasl.rb t/clients/php_memcached_sasl.php t/clients/tls_client.py
t_proxy_tests_CPPFLAGS = $(TEST_SUPPORT_CPPFLAGS) $(ZLIB_CFLAGS)
# src/libmoxi.a: the stats tests compare moxi's output with its metrics table.
t_proxy_tests_LDADD = t/libtestsupport.a src/libmoxi.a vbucket/libvbucket.a $(LIBMEMCACHED_LIBS) $(LIBCURL_LIBS) $(ZLIB_LIBS) $(LIBCRYPTO_LIBS) $(CPPUNIT_LIBS) -lpthread $(SASL_LIBS) $(LIBSSL_LIBS) $(LIBURING_LIBS)
