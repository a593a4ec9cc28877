#pragma once
// Precompiled for every target that includes torch: one ~20 s parse instead of one per file.
#include <torch/torch.h>
