"""A small PyTorch DDP training run that checkpoints to S3 and resumes from its last checkpoint.

Launched by torchrun (see ddp-job.yaml). Rank 0 writes `checkpoint.pt` after every epoch and `model.pt` at the end
under CHECKPOINT_URI (s3://<models bucket>/<team>/<run>/); every rank resumes from `checkpoint.pt` if it exists.
Credentials come from EKS Pod Identity (the team's service account); the bucket's default KMS key encrypts.
"""

from __future__ import annotations

import io
import os
from urllib.parse import urlparse

import boto3
import torch
import torch.distributed as dist
from botocore.exceptions import ClientError
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def s3_location(uri: str, name: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, f"{parsed.path.lstrip('/')}{name}"


def load_checkpoint(s3, uri: str) -> dict | None:
    bucket, key = s3_location(uri, "checkpoint.pt")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise
    return torch.load(io.BytesIO(body), map_location="cpu")


def save(s3, uri: str, name: str, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    bucket, key = s3_location(uri, name)
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())


def main() -> None:
    dist.init_process_group("nccl")
    rank, local_rank = dist.get_rank(), int(os.environ["LOCAL_RANK"])
    torch.cuda.set_device(local_rank)
    uri = os.environ["CHECKPOINT_URI"]
    epochs = int(os.environ.get("EPOCHS", "5"))
    s3 = boto3.client("s3")

    model = nn.Sequential(nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 10)).cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    start = 0
    checkpoint = load_checkpoint(s3, uri)
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        start = checkpoint["epoch"] + 1
    ddp = DistributedDataParallel(model, device_ids=[local_rank])
    generator = torch.Generator().manual_seed(1234 + rank)
    for epoch in range(start, epochs):
        for _ in range(100):
            inputs = torch.randn(64, 128, generator=generator).cuda()
            targets = torch.randint(0, 10, (64,), generator=generator).cuda()
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(ddp(inputs), targets)
            loss.backward()
            optimizer.step()
        if rank == 0:
            save(
                s3,
                uri,
                "checkpoint.pt",
                {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch},
            )
            print(f"epoch {epoch}: loss {loss.item():.4f}, checkpoint written to {uri}checkpoint.pt", flush=True)
        dist.barrier()
    if rank == 0:
        save(s3, uri, "model.pt", {"model": model.state_dict()})
        print(f"model written to {uri}model.pt", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
