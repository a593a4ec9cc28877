// Anchor of the shared torch precompiled header (see cmake/torch_pch.h).
#include "cmake/torch_pch.h"
