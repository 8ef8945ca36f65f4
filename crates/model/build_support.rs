// Shared by build scripts (`include!`d) of every crate whose binaries or tests link libtorch through `tch`.
// Link arguments from a library's build script do not reach its dependants, so each final crate must emit
// them itself. With `LIBTORCH_USE_PYTORCH` set, torch-sys links against the libraries inside the Python
// `torch` package; embedding an rpath to that directory lets binaries run without `LD_LIBRARY_PATH`, and
// `--no-as-needed -ltorch_cuda` keeps the CUDA backend linked although no symbol of it is referenced
// directly (otherwise `tch::Cuda::is_available()` reports false on GPU machines).

/// Emits rpath and CUDA link arguments for the libtorch found in the active Python's `torch` package, for every
/// binary and test of the crate.
#[allow(dead_code)]
pub fn emit_torch_link_args() {
    emit_torch_link_args_for("");
}

/// As [`emit_torch_link_args`], for the targets `which` selects: `""` (all), `"-bin=NAME"`, `"-tests"`, ...
/// (the suffixes of cargo's `rustc-link-arg`).
#[allow(dead_code)]
pub fn emit_torch_link_args_for(which: &str) {
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=PATH");
    let torch_lib_dir = if std::env::var_os("LIBTORCH_USE_PYTORCH").is_some() {
        let python = std::env::var("PYTHON_SYS_EXECUTABLE").unwrap_or_else(|_| "python3".to_string());
        let output = std::process::Command::new(python)
            .args([
                "-c",
                "import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))",
            ])
            .output();
        match output {
            Ok(out) if out.status.success() => {
                Some(std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string()))
            }
            _ => {
                println!("cargo:warning=LIBTORCH_USE_PYTORCH is set but `import torch` failed; no rpath emitted");
                None
            }
        }
    } else {
        std::env::var_os("LIBTORCH").map(|root| std::path::PathBuf::from(root).join("lib"))
    };
    let Some(dir) = torch_lib_dir else { return };
    if !dir.is_dir() {
        return;
    }
    let dir_text = dir.display();
    println!("cargo:rustc-link-search=native={dir_text}");
    println!("cargo:rustc-link-arg{which}=-Wl,-rpath,{dir_text}");
    if dir.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg{which}=-L{dir_text}");
        println!("cargo:rustc-link-arg{which}=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg{which}=-ltorch_cuda");
        println!("cargo:rustc-link-arg{which}=-Wl,--as-needed");
    }
}

/// Emits `INSCL_LIBTORCH_VERSION` (e.g. `2.11.0+cu130`): the torch the binary links, read from the Python
/// `torch` package (or `$LIBTORCH/build-version`), so that cache keys name the libtorch that computed them.
#[allow(dead_code)]
pub fn emit_torch_version() {
    let from_python = || {
        let python = std::env::var("PYTHON_SYS_EXECUTABLE").unwrap_or_else(|_| "python3".to_string());
        let out = std::process::Command::new(python).args(["-c", "import torch; print(torch.__version__)"]).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let version = if std::env::var_os("LIBTORCH_USE_PYTORCH").is_some() {
        from_python()
    } else {
        std::env::var_os("LIBTORCH")
            .and_then(|root| std::fs::read_to_string(std::path::PathBuf::from(root).join("build-version")).ok())
            .map(|v| v.trim().to_string())
    };
    let version = version.filter(|v| !v.is_empty()).unwrap_or_else(|| {
        println!("cargo:warning=could not read the libtorch version; keys will name it 'unknown'");
        "unknown".to_string()
    });
    println!("cargo:rustc-env=INSCL_LIBTORCH_VERSION={version}");
}
