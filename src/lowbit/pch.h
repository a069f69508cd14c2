// Precompiled header: the LibTorch headers nearly every lowbit translation unit needs.
// Only the build uses it; sources still include what they use.
#pragma once
#include <torch/autograd.h>
#include <torch/nn/module.h>
#include <torch/types.h>
