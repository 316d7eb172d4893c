"""The article's training loop, as written (DataLoader + LSTMCell unrolled in Python).

Kept verbatim in spirit (only the device is fixed and printing is optional) so that the
benchmark measures the engine against what the article actually runs.
"""

from __future__ import annotations

import time

import pandas as pd
import torch
import torch.nn as nn
import torchmetrics
from torch.utils.data import DataLoader

device = "cpu"


class TimeSeriesDataset(torch.utils.data.Dataset):
    def __init__(self, series, window_length):
        self.series = series
        self.window_length = window_length

    def __len__(self):
        return len(self.series) - self.window_length

    def __getitem__(self, idx):
        if idx >= len(self):
            raise IndexError("dataset index out of range")
        window = self.series[idx : idx + self.window_length]
        target = self.series[idx + self.window_length]
        return window, target


class MulvarTimeSeriesDataset(TimeSeriesDataset):
    def __getitem__(self, idx):
        window, target = super().__getitem__(idx)
        return window, target[:2]


class LstmModel(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.memory_cell = nn.LSTMCell(input_size, hidden_size)
        self.output = nn.Linear(hidden_size, output_size)

    def forward(self, X):
        batch_size, window_length, dimensionality = X.shape
        X_time_first = X.transpose(0, 1)
        H = torch.zeros(batch_size, self.hidden_size, device=X.device)
        C = torch.zeros(batch_size, self.hidden_size, device=X.device)
        for X_t in X_time_first:
            H, C = self.memory_cell(X_t, (H, C))
        return self.output(H)


def evaluate_tm(model, data_loader, metric):
    model.eval()
    metric.reset()
    with torch.no_grad():
        for X_batch, y_batch in data_loader:
            X_batch, y_batch = X_batch.to(device), y_batch.to(device)
            y_pred = model(X_batch)
            metric.update(y_pred, y_batch)
    return metric.compute()


def train(
    model,
    optimizer,
    loss_fn,
    metric,
    train_loader,
    valid_loader,
    n_epochs,
    patience=10,
    factor=0.1,
    verbose=True,
    epoch_times=None,
):
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", patience=patience, factor=factor)
    history = {"train_losses": [], "train_metrics": [], "valid_metrics": []}
    for epoch in range(n_epochs):
        started = time.perf_counter()
        total_loss = 0.0
        metric.reset()
        model.train()
        for X_batch, y_batch in train_loader:
            X_batch, y_batch = X_batch.to(device), y_batch.to(device)
            y_pred = model(X_batch)
            loss = loss_fn(y_pred, y_batch)
            total_loss += loss.item()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            metric.update(y_pred, y_batch)
        history["train_losses"].append(total_loss / len(train_loader))
        history["train_metrics"].append(metric.compute().item())
        val_metric = evaluate_tm(model, valid_loader, metric).item()
        history["valid_metrics"].append(val_metric)
        scheduler.step(val_metric)
        if epoch_times is not None:
            epoch_times.append(time.perf_counter() - started)
        if verbose:
            print(
                f"Epoch {epoch + 1}/{n_epochs}, "
                f"train loss: {history['train_losses'][-1]:.4f}, "
                f"train metric: {history['train_metrics'][-1]:.4f}, "
                f"valid metric: {history['valid_metrics'][-1]:.4f}"
            )
    return history


def load_article_frames(path):
    df = pd.read_csv(path, parse_dates=["service_date"])
    df.columns = ["date", "day_type", "bus", "rail", "total"]
    df = df.sort_values("date").set_index("date")
    df = df.drop("total", axis=1)
    df = df.drop_duplicates()
    df_mulvar = df[["rail", "bus"]] / 1e6
    df_mulvar["next_day_type"] = df["day_type"].shift(-1)
    df_mulvar = pd.get_dummies(df_mulvar, dtype=float)
    return df_mulvar


def run_article(path, n_epochs=50, verbose=True, epoch_times=None):
    """Run the article end to end; returns (history, test_mae)."""
    df_mulvar = load_article_frames(path)
    mulvar_train = torch.FloatTensor(df_mulvar["2016-01":"2018-12"].values)
    mulvar_valid = torch.FloatTensor(df_mulvar["2019-01":"2019-05"].values)
    mulvar_test = torch.FloatTensor(df_mulvar["2019-06":].values)
    window_length = 56
    train_loader = DataLoader(MulvarTimeSeriesDataset(mulvar_train, window_length), batch_size=32, shuffle=True)
    valid_loader = DataLoader(MulvarTimeSeriesDataset(mulvar_valid, window_length), batch_size=32)
    test_loader = DataLoader(MulvarTimeSeriesDataset(mulvar_test, window_length), batch_size=32)
    torch.manual_seed(42)
    model = LstmModel(input_size=5, hidden_size=32, output_size=2).to(device)
    loss_fn = nn.HuberLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.95)
    metric = torchmetrics.MeanAbsoluteError().to(device)
    history = train(
        model,
        optimizer,
        loss_fn,
        metric,
        train_loader,
        valid_loader,
        n_epochs=n_epochs,
        patience=20,
        factor=0.1,
        verbose=verbose,
        epoch_times=epoch_times,
    )
    test_mae = evaluate_tm(model, test_loader, torchmetrics.MeanAbsoluteError().to(device)).item()
    if verbose:
        print(f"Test MAE: {test_mae:.6f} ({test_mae * 1e6:.2f} riders)")
    return history, test_mae


if __name__ == "__main__":
    import sys

    times = []
    run_article(sys.argv[1], epoch_times=times)
    print(f"mean epoch {sum(times) / len(times):.4f}s")
