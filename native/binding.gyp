{
  "targets": [
    {
      "target_name": "ssl_native",
      "sources": ["src/addon.cc", "src/conv.cc", "src/matmul.cc", "src/peak.cc", "src/elementwise.cc", "src/batch-norm.cc", "src/copy.cc", "src/pooling.cc", "src/softmax.cc", "src/layer-norm.cc", "src/gelu.cc", "src/optimizers.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS_OFF"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-fexceptions"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
