# t/ fragment for the threaded core: moxi's own buffer (ByteChain), the
# event loop and stream connection
# alone (net/), NotifyQueue, Worker and App under
# concurrency (also run by the TSan build of script/test), the request
# timeout rule with a fake clock, the snapshot builder, -Y y's watch on
# standard input, backend name resolution against a fake DNS server,
# the config source that asks fake data nodes for their config, the
# backend pool (ServerGroup) driven by a recording host against memcached,
# routing as pure code (key placement, plans, replicas, NOT_MY_VBUCKET,
# admission), and a worker's request router driven by a test host against
# memcached and the vBucket fake.
check_PROGRAMS += t/core_tests
TESTS += t/core_tests
t_core_tests_SOURCES = t/core/threads_test.cc t/core/event_log_test.cc t/core/request_timer_test.cc \
	t/core/snapshot_test.cc t/core/bucket_access_test.cc t/core/stdin_watch_test.cc \
	t/core/server_health_test.cc t/core/resolver_test.cc t/core/down_policy_test.cc \
	t/core/data_node_source_test.cc t/core/net_loop_test.cc t/core/backend_pool_test.cc \
	t/core/key_router_test.cc t/core/admission_test.cc t/core/request_router_test.cc t/core/test_loop_host.h \
	t/core/byte_chain_test.cc
t_core_tests_CPPFLAGS = $(TEST_SUPPORT_CPPFLAGS) $(LIBEVENT_CFLAGS) $(LIBMEMCACHED_CFLAGS)
t_core_tests_LDADD = t/libtestsupport.a src/libmoxi.a conflate/libconflate.a vbucket/libvbucket.a \
	$(LIBEVENT_LIBS) $(LIBMEMCACHED_LIBS) $(LIBCURL_LIBS) $(LIBCRYPTO_LIBS) $(ZLIB_LIBS) $(CPPUNIT_LIBS) -lpthread $(SASL_LIBS) $(LIBSSL_LIBS) $(LIBURING_LIBS)
