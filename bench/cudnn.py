# The anchor of `bench/gpu-device.sh run`: PyTorch / cuDNN GRU and LSTM forward+backward on the GPU, float32 with
# TF32 off, at the shapes of issue 13; compute only (tensors on the GPU) and with transfers (upload inputs, read
# back outputs and gradients). Prints a markdown table.
import sys
import time

import torch

torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False
shapes = [tuple(int(v) for v in s.split("x")) for s in (sys.argv[1] if len(sys.argv) > 1 else "32x1x64,32x16x256,128x64x512,256x256x1024").split(",")]
dev = torch.device("cuda")


def timed(f, reps=10):
    f()
    torch.cuda.synchronize()
    xs = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        torch.cuda.synchronize()
        xs.append((time.perf_counter() - t) * 1e3)
    return sorted(xs)[len(xs) // 2]


print(f"# cuDNN {torch.backends.cudnn.version()} on {torch.cuda.get_device_name()} (torch {torch.__version__}, f32, TF32 off)\n")
print("| cell | T | B | I=H | fwd+bwd ms compute only | fwd+bwd ms with transfers |")
print("|---|---|---|---|---|---|")
for name, cls in (("gru", torch.nn.GRU), ("lstm", torch.nn.LSTM)):
    for T, B, H in shapes:
        m = cls(H, H).to(dev)
        x_host = torch.randn(T, B, H)
        x = x_host.to(dev).requires_grad_()

        def compute():
            y, _ = m(x)
            y.sum().backward()

        def transfers():
            xd = x_host.to(dev).requires_grad_()
            y, _ = m(xd)
            y.sum().backward()
            y.cpu()
            xd.grad.cpu()
            [p.grad.cpu() for p in m.parameters()]

        print(f"| {name} | {T} | {B} | {H} | {timed(compute):.2f} | {timed(transfers):.2f} |", flush=True)
