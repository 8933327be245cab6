# src/backend/ fragment: a worker's connections to the backends, pipelined
# and grouped per server with its health, the SASL login, name resolution
# and the data-node config source, added to src/libmoxi.a. The layer sees
# the worker that owns it only through BackendHost (backend_host.h).
src_libmoxi_a_SOURCES += \
	src/backend/server_connection.cc src/backend/server_connection.h \
	src/backend/server_group.cc src/backend/server_group.h \
	src/backend/server_health.cc src/backend/server_health.h \
	src/backend/pending_op.h \
	src/backend/backend_host.h \
	src/backend/backend_settings.h \
	src/backend/sasl_client.cc src/backend/sasl_client.h \
	src/backend/backend_login.cc src/backend/backend_login.h \
	src/backend/data_node_config_source.cc src/backend/data_node_config_source.h \
	src/backend/resolver.cc src/backend/resolver.h
