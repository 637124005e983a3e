"""Golden test vectors from PyTorch, for test/kernels/torch-fixtures.test.ts.

Run from the repository root with Debian's PyTorch (python3-torch 1.13, NOT the python3 first on the PATH):

    /usr/bin/python3 scripts/torch-fixtures.py

It rewrites test/fixtures/*.json (about 400 KB, 165 KB of it the float64 schedules). The output is committed, so the test suite compares our kernels
with an independent implementation without needing PyTorch. Inputs are seeded (torch.manual_seed), so running
it again gives the same files.

Each file holds one op family: a list of cases { name, shapes, options, inputs, outputs, grads }. Arrays are flat
(row-major, shapes in `shapes`). Backward passes take the upstream gradient `r` from `inputs` (the gradient of
L = <y, r>). Computations run in float32, like our kernels, except where noted (the timestep embedding and the
beta schedules are computed in float64). Float32 values are written as their shortest decimal form, checked to
round-trip exactly through a JavaScript number and Math.fround; float64 values as repr (shortest exact form).
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')


# ---------------------------------------------------------------- output

class F32(list):
    """Values to write as float32."""


class F64(list):
    """Values to write as float64."""


def f32_text(v):
    v32 = np.float32(v)
    assert np.isfinite(v32), v
    text = str(v32)
    # The path JavaScript takes: parse to the nearest double, then Math.fround (= round to the nearest float32).
    back = np.float32(float(text))
    assert back.tobytes() == v32.tobytes(), (text, v32)
    return text


def f64_text(v):
    assert math.isfinite(v), v
    text = repr(float(v))
    assert float(text) == float(v)
    return text


def to_json(value, indent=''):
    if isinstance(value, F32):
        return '[' + ','.join(f32_text(v) for v in value) + ']'
    if isinstance(value, F64):
        return '[' + ','.join(f64_text(v) for v in value) + ']'
    if isinstance(value, dict):
        inner = indent + '  '
        items = [f'{inner}"{k}": {to_json(v, inner)}' for k, v in value.items()]
        return '{\n' + ',\n'.join(items) + '\n' + indent + '}' if items else '{}'
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float, str, bool)) for v in value):
            return '[' + ', '.join(to_json(v) for v in value) + ']'
        return '[\n' + ',\n'.join(indent + '  ' + to_json(v, indent + '  ') for v in value) + '\n' + indent + ']'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f64_text(value)
    if isinstance(value, str):
        return '"' + value + '"'
    if value is None:
        return 'null'
    raise TypeError(type(value))


def write(name, cases):
    path = os.path.join(OUT, name)
    with open(path, 'w') as f:
        f.write(to_json(cases) + '\n')
    print(f'{name}: {len(cases)} cases, {os.path.getsize(path)} bytes')


def flat(t):
    """A tensor as a flat F32 list (float32 values)."""
    return F32(t.detach().to(torch.float32).reshape(-1).tolist())


def case(name, tensors, options, inputs, outputs, grads):
    """A fixture case; `shapes` lists the shape of every stored tensor."""
    shapes = {k: list(tensors[k].shape) for k in [*inputs, *outputs, *grads] if k in tensors}
    to_list = lambda names: {k: flat(tensors[k]) for k in names}
    return {'name': name, 'shapes': shapes, 'options': options,
            'inputs': to_list(inputs), 'outputs': to_list(outputs), 'grads': to_list(grads)}


def randn(*shape, scale=1.0, offset=0.0):
    return (torch.randn(*shape, dtype=torch.float32) * scale + offset).requires_grad_(True)


def backward(y, r, *leaves):
    """Gradients of L = <y, r> with respect to `leaves` (None for leaves that are None)."""
    grads = torch.autograd.grad(y, [t for t in leaves if t is not None], r)
    it = iter(grads)
    return [next(it) if t is not None else None for t in leaves]


# ---------------------------------------------------------------- ops

def conv2d_cases():
    torch.manual_seed(1)
    table = [  # name, x shape, output channels K, kernel (R, S), stride, padding, bias
        ('3x3 stride 1 padding 1', [2, 3, 4, 4], 4, (3, 3), 1, 1, True),
        ('3x3 stride 2 padding 1', [2, 3, 7, 7], 4, (3, 3), 2, 1, True),
        ('1x1', [2, 5, 4, 3], 3, (1, 1), 1, 0, True),
        ('5x5 padding 2', [2, 2, 6, 7], 3, (5, 5), 1, 2, True),
        ('1x3', [2, 3, 5, 6], 2, (1, 3), 1, 0, True),
        ('odd: x [2, 3, 7, 5] -> 4 channels, 3x3 padding 1', [2, 3, 7, 5], 4, (3, 3), 1, 1, True),
        ('odd, stride 2: x [2, 3, 7, 5], 3x3 padding 1', [2, 3, 7, 5], 4, (3, 3), 2, 1, True),
        ('batch 1, 3x3 padding 1, 4 -> 6 channels', [1, 4, 6, 6], 6, (3, 3), 1, 1, True),
        ('no bias, 3x3 padding 1', [1, 3, 5, 5], 2, (3, 3), 1, 1, False),
    ]
    cases = []
    for name, xs, K, (R, S), stride, padding, has_bias in table:
        C = xs[1]
        x = randn(*xs)
        w = randn(K, C, R, S, scale=1 / math.sqrt(C * R * S))
        b = randn(K, scale=0.5) if has_bias else None
        y = F.conv2d(x, w, b, stride=stride, padding=padding)
        r = torch.randn(y.shape)
        dx, dw, db = backward(y, r, x, w, b)
        t = {'x': x, 'w': w, 'b': b, 'r': r, 'y': y, 'dx': dx, 'dw': dw, 'db': db}
        cases.append(case(name, t, {'stride': stride, 'padding': padding},
                          ['x', 'w', 'b', 'r'] if has_bias else ['x', 'w', 'r'], ['y'],
                          ['dx', 'dw', 'db'] if has_bias else ['dx', 'dw']))
    return cases


def group_norm_cases():
    torch.manual_seed(2)
    table = [  # name, x shape, groups, eps, AdaGN (scale and shift), input offset[, input scale]
        ('[2, 6, 5, 3], 3 groups', [2, 6, 5, 3], 3, 1e-5, False, 0.0),
        ('[1, 4, 2, 2], 4 groups', [1, 4, 2, 2], 4, 1e-5, False, 0.0),
        ('[2, 8, 3, 3], 1 group, eps 1e-6', [2, 8, 3, 3], 1, 1e-6, False, 0.0),
        ('[2, 6, 4, 4], 2 groups, inputs centred at 3', [2, 6, 4, 4], 2, 1e-5, False, 3.0),
        ('AdaGN [2, 6, 5, 3], 3 groups', [2, 6, 5, 3], 3, 1e-5, True, 0.0),
        ('AdaGN [1, 4, 2, 2], 4 groups', [1, 4, 2, 2], 4, 1e-5, True, 0.0),
        ('AdaGN [2, 8, 3, 3], 2 groups, eps 1e-6', [2, 8, 3, 3], 2, 1e-6, True, 0.0),
        ('[1, 4, 3, 3], 2 groups, variance ~ eps (x * 0.003)', [1, 4, 3, 3], 2, 1e-5, False, 0.0, 0.003),
    ]
    cases = []
    for name, xs, G, eps, ada, offset, *spread in table:
        N, C = xs[0], xs[1]
        x = randn(*xs, scale=spread[0] if spread else 1.0, offset=offset)
        gamma = randn(C, scale=0.3, offset=1.0)
        beta = randn(C, scale=0.3)
        scale = randn(N, C, scale=0.5) if ada else None
        shift = randn(N, C, scale=0.5) if ada else None
        y = F.group_norm(x, G, gamma, beta, eps)
        if ada:
            y = y * (1 + scale[:, :, None, None]) + shift[:, :, None, None]
        r = torch.randn(y.shape)
        dx, dgamma, dbeta, dscale, dshift = backward(y, r, x, gamma, beta, scale, shift)
        t = {'x': x, 'gamma': gamma, 'beta': beta, 'scale': scale, 'shift': shift, 'r': r, 'y': y,
             'dx': dx, 'dgamma': dgamma, 'dbeta': dbeta, 'dscale': dscale, 'dshift': dshift}
        extra_in, extra_grads = (['scale', 'shift'], ['dscale', 'dshift']) if ada else ([], [])
        cases.append(case(name, t, {'groups': G, 'eps': eps},
                          ['x', 'gamma', 'beta', *extra_in, 'r'], ['y'], ['dx', 'dgamma', 'dbeta', *extra_grads]))
    return cases


def attention(q, k, v):
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    return torch.softmax(scores, dim=-1) @ v


def attention_cases():
    torch.manual_seed(3)
    table = [('[2, 3, 5, 4]', [2, 3, 5, 4], 1.0), ('[1, 1, 7, 8]', [1, 1, 7, 8], 1.0),
             ('[1, 1, 16, 8]', [1, 1, 16, 8], 1.0), ('[2, 1, 1, 3] (one token)', [2, 1, 1, 3], 1.0),
             ('[1, 2, 6, 5], large scores (peaked softmax)', [1, 2, 6, 5], 4.0)]
    cases = []
    for name, shape, scale in table:
        q, k, v = randn(*shape, scale=scale), randn(*shape, scale=scale), randn(*shape)
        o = attention(q, k, v)
        r = torch.randn(o.shape)
        dq, dk, dv = backward(o, r, q, k, v)
        t = {'q': q, 'k': k, 'v': v, 'r': r, 'o': o, 'dq': dq, 'dk': dk, 'dv': dv}
        cases.append(case(name, t, {}, ['q', 'k', 'v', 'r'], ['o'], ['dq', 'dk', 'dv']))
    return cases


def silu_cases():
    torch.manual_seed(4)
    special = torch.tensor([0.0, -0.0, 1e-6, -1e-6, 0.5, -0.5, 5.0, -5.0, 15.0, -15.0, 30.0, -30.0, 80.0, -80.0])
    xs = [('randn * 3, [3, 5, 7]', (torch.randn(3, 5, 7) * 3).requires_grad_(True)),
          ('special values', special.clone().requires_grad_(True))]
    cases = []
    for name, x in xs:
        y = F.silu(x)
        r = torch.randn(y.shape)
        (dx,) = backward(y, r, x)
        cases.append(case(name, {'x': x, 'r': r, 'y': y, 'dx': dx}, {}, ['x', 'r'], ['y'], ['dx']))
    return cases


def linear_cases():
    torch.manual_seed(5)
    table = [('[3, 5] -> 4', 3, 5, 4), ('[1, 7] -> 1', 1, 7, 1), ('[4, 24] -> 6', 4, 24, 6),
             ('[4, 100] -> 3', 4, 100, 3)]
    cases = []
    for name, N, IN, OUT_ in table:
        x, w, b = randn(N, IN), randn(OUT_, IN, scale=1 / math.sqrt(IN)), randn(OUT_, scale=0.5)
        y = F.linear(x, w, b)
        r = torch.randn(y.shape)
        dx, dw, db = backward(y, r, x, w, b)
        t = {'x': x, 'w': w, 'b': b, 'r': r, 'y': y, 'dx': dx, 'dw': dw, 'db': db}
        cases.append(case(name, t, {}, ['x', 'w', 'b', 'r'], ['y'], ['dx', 'dw', 'db']))
    return cases


def upsample_cases():
    torch.manual_seed(6)
    cases = []
    for name, shape in [('[2, 2, 3, 5]', [2, 2, 3, 5]), ('[1, 1, 1, 1]', [1, 1, 1, 1]), ('[1, 2, 3, 1]', [1, 2, 3, 1])]:
        x = randn(*shape)
        y = F.interpolate(x, scale_factor=2, mode='nearest')
        r = torch.randn(y.shape)
        (dx,) = backward(y, r, x)
        cases.append(case(name, {'x': x, 'r': r, 'y': y, 'dx': dx}, {}, ['x', 'r'], ['y'], ['dx']))
    return cases


def cross_entropy_cases():
    torch.manual_seed(7)
    table = [('[4, 10]', 4, 10, 1.0), ('[1, 3]', 1, 3, 1.0), ('[7, 5], logits * 20', 7, 5, 20.0),
             ('[2, 150], logits * 3', 2, 150, 3.0)]
    cases = []
    for name, N, C, scale in table:
        logits = randn(N, C, scale=scale)
        labels = torch.randint(0, C, (N,))
        loss = F.cross_entropy(logits, labels, reduction='mean')
        probs = torch.softmax(logits, dim=-1)
        r = torch.ones(())
        (dlogits,) = backward(loss, r, logits)
        c = case(name, {'logits': logits, 'r': r, 'loss': loss, 'probs': probs, 'dlogits': dlogits},
                 {'reduction': 'mean'}, ['logits', 'r'], ['loss', 'probs'], ['dlogits'])
        c['inputs']['labels'] = [int(i) for i in labels]
        c['shapes']['labels'] = [N]
        cases.append(c)
    return cases


def adamw_cases():
    torch.manual_seed(8)
    table = [  # name, size, lr, betas, eps, weight decay
        ('lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01', 11, 1e-3, (0.9, 0.999), 1e-8, 0.01),
        ('lr 0.1, betas (0.8, 0.95), eps 1e-6, weight decay 0.1', 13, 0.1, (0.8, 0.95), 1e-6, 0.1),
        ('lr 2e-4, no weight decay, tiny gradients', 7, 2e-4, (0.9, 0.999), 1e-8, 0.0),
    ]
    cases = []
    for name, n, lr, betas, eps, wd in table:
        p = torch.randn(n).requires_grad_(True)
        p0 = p.detach().clone()
        grad_scale = 1e-6 if wd == 0.0 else 1.0
        grads = [torch.randn(n) * grad_scale for _ in range(3)]
        opt = torch.optim.AdamW([p], lr=lr, betas=betas, eps=eps, weight_decay=wd, foreach=False)
        t = {'param': p0}
        for i, g in enumerate(grads, 1):
            p.grad = g.clone()
            opt.step()
            state = opt.state[p]
            t[f'grad{i}'] = g
            t[f'param{i}'] = p.detach().clone()
            t[f'm{i}'] = state['exp_avg'].clone()
            t[f'v{i}'] = state['exp_avg_sq'].clone()
        options = {'lr': lr, 'beta1': betas[0], 'beta2': betas[1], 'eps': eps, 'weightDecay': wd, 'steps': 3}
        cases.append(case(name, t, options, ['param', 'grad1', 'grad2', 'grad3'],
                          [f'{k}{i}' for i in (1, 2, 3) for k in ('param', 'm', 'v')], []))
    return cases


def timestep_embedding(t, dim):
    """diffusers get_timestep_embedding with flip_sin_to_cos=True, downscale_freq_shift=0, in float64."""
    half = dim // 2
    exponent = -math.log(10000) * torch.arange(half, dtype=torch.float64) / half
    e = t[:, None] * torch.exp(exponent)[None, :]
    return torch.cat([torch.cos(e), torch.sin(e)], dim=-1)


def timestep_embedding_cases():
    t = torch.tensor([0, 1, 17, 500, 999], dtype=torch.float64)
    cases = []
    for dim in (8, 32):
        out = timestep_embedding(t, dim).to(torch.float32)
        cases.append(case(f'dim {dim}', {'timesteps': t.to(torch.float32), 'out': out},
                          {'dim': dim, 'flipSinToCos': True, 'downscaleFreqShift': 0}, ['timesteps'], ['out'], []))
    return cases


def schedules():
    """DDPM beta schedules for T = 1000, in float64 (betas and alphas_cumprod)."""
    T = 1000
    f64 = torch.float64

    def alpha_bar(s):
        return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

    table = {
        'linear': (1e-4, 0.02, torch.linspace(1e-4, 0.02, T, dtype=f64)),
        'scaled_linear': (0.00085, 0.012, torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, T, dtype=f64) ** 2),
        'squaredcos_cap_v2': (None, None, torch.tensor(
            [min(1 - alpha_bar((i + 1) / T) / alpha_bar(i / T), 0.999) for i in range(T)], dtype=f64)),
        'sigmoid': (1e-4, 0.02, torch.sigmoid(torch.linspace(-6, 6, T, dtype=f64)) * (0.02 - 1e-4) + 1e-4),
    }
    cases = []
    for name, (start, end, betas) in table.items():
        options = {'betaSchedule': name, 'numTrainTimesteps': T}
        if start is not None:
            options.update(betaStart=start, betaEnd=end)
        alphas_cumprod = torch.cumprod(1 - betas, dim=0)
        cases.append({'name': name, 'shapes': {'betas': [T], 'alphasCumprod': [T]}, 'options': options,
                      'inputs': {}, 'outputs': {'betas': F64(betas.tolist()), 'alphasCumprod': F64(alphas_cumprod.tolist())},
                      'grads': {}})
    return cases


if __name__ == '__main__':
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    write('conv2d.json', conv2d_cases())
    write('groupnorm.json', group_norm_cases())
    write('attention.json', attention_cases())
    write('silu.json', silu_cases())
    write('linear.json', linear_cases())
    write('upsample.json', upsample_cases())
    write('cross-entropy.json', cross_entropy_cases())
    write('adamw.json', adamw_cases())
    write('timestep-embedding.json', timestep_embedding_cases())
    write('schedules.json', schedules())
