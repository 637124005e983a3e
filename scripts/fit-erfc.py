"""The coefficients of erfc's approximation in assembly/activations.ts (exact GELU), fitted here.

    erfc(z) ~ t * exp(-z*z + P(t)),   t = 1 / (1 + z / 2),   P(t) = P0 + P1 t + ... + P9 t^9

(the form of Numerical Recipes' erfcc; these are its own least-squares coefficients). The target
g(t) = log(erfc(z) / t) + z^2 is smooth on t in (0, 1] (z = 2 (1 - t) / t from 0 to infinity); it is sampled at
4000 Chebyshev nodes of t in [1/6, 1] (z up to 10, beyond which erfc(z) / 2 is below float32's smallest number)
and fitted by least squares in float64. Run with any Python 3 with numpy: python3 scripts/fit-erfc.py
"""
import math

import numpy as np

DEGREE = 9
T_MIN = 1 / (1 + 10 / 2)
NODES = 4000

k = np.arange(NODES)
t = (T_MIN + 1) / 2 + (1 - T_MIN) / 2 * np.cos(np.pi * (k + 0.5) / NODES)
z = 2 * (1 - t) / t
g = np.array([math.log(math.erfc(zi) / ti) + zi * zi for zi, ti in zip(z, t)])
coefficients, *_ = np.linalg.lstsq(np.vander(t, DEGREE + 1, increasing=True), g, rcond=None)

worst = 0.0
for zi in np.linspace(0, 3, 30001):
    ti = 1 / (1 + zi / 2)
    approx = ti * math.exp(-zi * zi + sum(float(np.float32(c)) * ti ** j for j, c in enumerate(coefficients)))
    worst = max(worst, abs(approx - math.erfc(zi)) / math.erfc(zi))
for j, c in enumerate(coefficients):
    print(f'P{j}: f32 = {float(c)!r};')
print(f'max relative error on z in [0, 3], float32 coefficients evaluated in float64: {worst:.2e}')
