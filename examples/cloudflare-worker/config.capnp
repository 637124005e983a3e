# workerd config for the digit-drawing Worker: build it first (npm run build), then
#   npx workerd serve config.capnp            (http://127.0.0.1:8787/?digit=7&seed=1)
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .digits) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const digits :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "build/worker.js"),
    # Imported by the bundle as './ddpm.wasm': a compiled WebAssembly.Module (Workers compile nothing from bytes).
    (name = "ddpm.wasm", wasm = embed "build/ddpm.wasm"),
    # Imported as './mnist.safetensors': the file's bytes, as an ArrayBuffer.
    (name = "mnist.safetensors", data = embed "build/mnist.safetensors"),
  ],
  compatibilityDate = "2025-06-01",
);
