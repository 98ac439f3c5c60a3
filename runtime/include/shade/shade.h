/*
 * shade/shade.h - the whole public API of libshade in one include.
 *
 * See doc/api.md for a guide and doc/protocol.md for the wire protocol.
 */
#ifndef SHADE_SHADE_H
#define SHADE_SHADE_H

#include "shade/visibility.h"
#include "shade/version.h"
#include "shade/error.h"
#include "shade/log.h"
#include "shade/value.h"
#include "shade/cbor.h"
#include "shade/transport.h"
#include "shade/tls.h"
#include "shade/shape.h"
#include "shade/object.h"
#include "shade/conn.h"
#include "shade/security.h"
#include "shade/proxy.h"
#include "shade/server.h"
#include "shade/typed.h"
#include "shade/stream.h"

#endif /* SHADE_SHADE_H */
