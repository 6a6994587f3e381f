// The translation unit that precompiles <torch/torch.h> once (workers/CMakeLists.txt: signsweep_torch_pch);
// every LibTorch module and test reuses that precompiled header.
