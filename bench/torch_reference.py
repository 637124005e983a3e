"""PyTorch on one CPU thread, on the benchmark's shapes: the reference bench/torch.ts reads (JSON on stdout).

Run by the benchmark when Debian's python3-torch is installed (/usr/bin/python3). Each case is warmed up, then
timed in rounds, every case once per round (the machine is shared), and its median time in ms is reported, on
the process's CPU clock like the benchmark's own rows (wall time would also count other processes' slices).
The BLAS thread pools are pinned to one thread by the caller's environment (OMP/OPENBLAS/MKL_NUM_THREADS=1),
since torch.set_num_threads does not reach them.
"""
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)
QUICK = '--quick' in sys.argv


def conv_cases():
    x = torch.randn(16, 64, 32, 32)
    w = torch.randn(64, 64, 3, 3)
    dy = torch.randn(16, 64, 32, 32)
    x1 = torch.randn(16, 128, 32, 32)
    w1 = torch.randn(64, 128, 1, 1)
    w2 = torch.randn(64, 64, 3, 3)

    def backward(mask):
        return lambda: torch.ops.aten.convolution_backward(
            dy, x, w, [64], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask)

    return {
        'convForward': lambda: F.conv2d(x, w, padding=1),
        'convBackwardInput': backward([True, False, False]),
        'convBackwardWeight': backward([False, True, False]),
        'conv1x1': lambda: F.conv2d(x1, w1),
        'convStride2': lambda: F.conv2d(x, w2, stride=2, padding=1),
    }


def group_norm_case():
    x = torch.randn(16, 64, 32, 32, requires_grad=True)
    gamma = torch.randn(64, requires_grad=True)
    beta = torch.randn(64, requires_grad=True)
    r = torch.randn(16, 64, 32, 32)

    def run():
        for t in (x, gamma, beta):
            t.grad = None
        F.group_norm(x, 32, gamma, beta, 1e-5).backward(r)
    return run


def attention_case():
    q, k, v = (torch.randn(16, 4, 64, 32, requires_grad=True) for _ in range(3))
    d_o = torch.randn(16, 4, 64, 32)

    def run():
        for t in (q, k, v):
            t.grad = None
        p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(32), dim=-1)
        (p @ v).backward(d_o)
    return run


def matmul_cases():
    a256, b256 = torch.randn(256, 256), torch.randn(256, 256)
    a512, b512 = torch.randn(512, 512), torch.randn(512, 512)
    return {'matmul256': lambda: a256 @ b256, 'matmul512': lambda: a512 @ b512}


def main():
    cases = {**matmul_cases(), **conv_cases(), 'groupNorm': group_norm_case(), 'attention': attention_case()}
    if QUICK:
        cases = {name: cases[name] for name in ('matmul256', 'matmul512', 'convForward', 'groupNorm', 'attention')}
    for fn in cases.values():
        for _ in range(5):
            fn()
    times = {name: [] for name in cases}
    for _ in range(3 if QUICK else 6):
        for name, fn in cases.items():
            for _ in range(3):
                t0 = time.process_time()
                fn()
                times[name].append((time.process_time() - t0) * 1000)
    config = torch.__config__.show()
    print(json.dumps({
        'version': torch.__version__,
        'threads': torch.get_num_threads(),
        'capability': next((l.split(':')[1].strip() for l in config.splitlines() if 'CPU capability' in l), '?'),
        'blas': next((m for m in config.replace(',', ' ').split() if m.startswith('BLAS_INFO=')), '?'),
        'blasLibraries': blas_libraries(),
        'ms': {name: statistics.median(t) for name, t in times.items()},
    }))


def blas_libraries():
    """The BLAS libraries this process has loaded (Linux): BLAS_INFO names the interface PyTorch was built
    against ('generic' for Debian's), not the library the system's alternatives or LD_LIBRARY_PATH give it."""
    try:
        with open('/proc/self/maps') as maps:
            paths = {line.split()[-1] for line in maps if len(line.split()) >= 6}
    except OSError:
        return []
    return sorted(p for p in paths if any(k in p.rsplit('/', 1)[-1].lower() for k in ('blas', 'mkl', 'blis')))


main()
