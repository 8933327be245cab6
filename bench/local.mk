# bench/ build fragment (included by the top-level Makefile.am).

# vbucket/: key mapping speed (vBucket and ketama) and map parsing cost.
if HAVE_BENCHMARK
noinst_PROGRAMS += bench/bench_vbucket
bench_bench_vbucket_SOURCES = bench/bench_vbucket.cc
bench_bench_vbucket_CPPFLAGS = $(AM_CPPFLAGS) $(BENCHMARK_CFLAGS)
bench_bench_vbucket_LDADD = vbucket/libvbucket.a $(LIBMEMCACHED_LIBS) $(BENCHMARK_LIBS)
endif

# src/: a config swap, from document to every worker serving it.
if HAVE_BENCHMARK
noinst_PROGRAMS += bench/bench_swap
bench_bench_swap_SOURCES = bench/bench_swap.cc
bench_bench_swap_CPPFLAGS = $(src_libmoxi_a_CPPFLAGS) $(BENCHMARK_CFLAGS)
bench_bench_swap_LDADD = src/libmoxi.a vbucket/libvbucket.a $(LIBEVENT_LIBS) $(LIBMEMCACHED_LIBS) $(BENCHMARK_LIBS) -lpthread
endif
