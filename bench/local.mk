# bench/ build fragment (included by the top-level Makefile.am).

# vbucket/: key mapping speed (vBucket and ketama) and map parsing cost.
if HAVE_BENCHMARK
noinst_PROGRAMS += bench/bench_vbucket
bench_bench_vbucket_SOURCES = bench/bench_vbucket.cc
bench_bench_vbucket_CPPFLAGS = $(AM_CPPFLAGS) $(BENCHMARK_CFLAGS)
bench_bench_vbucket_LDADD = vbucket/libvbucket.a $(LIBMEMCACHED_LIBS) $(BENCHMARK_LIBS)
endif

# loadgen: memcached ascii load generator used by bench/run-proxies.
noinst_PROGRAMS += bench/loadgen
bench_loadgen_SOURCES = bench/loadgen.cc
bench_loadgen_CPPFLAGS = $(AM_CPPFLAGS) $(LIBEVENT_CFLAGS)
bench_loadgen_LDADD = $(LIBEVENT_LIBS) -lpthread
