/*
 * bench/weak.h - the shade entry points the benchmarks use that belong to
 * modules still being written (connection, objects, proxies), declared
 * weak so the programs build and run whatever has landed.
 *
 * The programs link libshade.a whole (--whole-archive), so a function the
 * library defines resolves to it; one it does not define has the address
 * NULL, which BENCH_HAVE() tests before any call.  The figure that needs a
 * missing function prints `bench <name> n/a (<reason>)`.
 */
#ifndef SHADE_BENCH_WEAK_H
#define SHADE_BENCH_WEAK_H

#include <shade/conn.h>
#include <shade/object.h>
#include <shade/proxy.h>
#include <shade/server.h>
#include <shade/shape.h>

#pragma weak shade_connect
#pragma weak shade_conn_new
#pragma weak shade_conn_close
#pragma weak shade_conn_is_open
#pragma weak shade_conn_stats_get
#pragma weak shade_conn_serve
#pragma weak shade_conn_fd
#pragma weak shade_conn_process
#pragma weak shade_conn_wants_write
#pragma weak shade_conn_flush
#pragma weak shade_conn_transport
#pragma weak shade_lookup
#pragma weak shade_getattr
#pragma weak shade_invoke
#pragma weak shade_invoke_async
#pragma weak shade_future_wait
#pragma weak shade_future_wait_all
#pragma weak shade_force
#pragma weak shade_getitem
#pragma weak shade_len
#pragma weak shade_request_begin
#pragma weak shade_request_finish
#pragma weak shade_request_send
#pragma weak shade_narrow
#pragma weak shade_ref_release
#pragma weak shade_ref_shape
#pragma weak shade_object_new
#pragma weak shade_object_add_attr
#pragma weak shade_object_add_method
#pragma weak shade_object_new_typed
#pragma weak shade_container_new
#pragma weak shade_registry_new
#pragma weak shade_registry_add
#pragma weak shade_ref_value_take
#pragma weak shade_server_new
#pragma weak shade_server_export
#pragma weak shade_server_listen
#pragma weak shade_server_address
#pragma weak shade_server_run

/* True when the library defines fn. */
#define BENCH_HAVE(fn) ((void *)(uintptr_t)(fn) != NULL)

#endif /* SHADE_BENCH_WEAK_H */
