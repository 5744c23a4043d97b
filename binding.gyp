{
  # One addon target. Sources: every native/*.cc (subfolders test/, fuzz/, bench/ are not part of
  # the addon). Exception policy (see native/README.md): C++ exceptions ON, and node-addon-api
  # converts every std::exception escaping a JS-called method into a JS Error.
  "targets": [
    {
      "target_name": "svde_native",
      "sources": [
        "<!@(node -e \"const fs=require('fs');console.log(fs.readdirSync('native').filter(f=>/\\.cc$/.test(f)).sort().map(f=>'native/'+f).join(' '))\")"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_CPP_EXCEPTIONS",
        "NODE_ADDON_API_CPP_EXCEPTIONS_ALL",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-fvisibility=hidden", "-fvisibility-inlines-hidden", "-Wall", "-Wextra"],
      "libraries": ["-lpcap"]
    }
  ]
}
