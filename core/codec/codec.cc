#include "core/codec/codec.h"
