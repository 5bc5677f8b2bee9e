#!/usr/bin/env python3
"""Generates the market agent's sample price files (run once; the CSVs are committed).

Deterministic (fixed seed). 80 weekday sessions from 2024-01-02 per symbol, with by construction:
ACME a breakout on the last session, BOLT a volume spike (3.2x) on the last session, CRUX a
breakdown on the last session, DYNA five weekdays missing (a data gap), EMBR nothing special.
Usage: python3 generate_prices.py [output folder, default: prices/ next to this script]
"""
import datetime
import os
import random
import sys

SESSIONS = 80
rng = random.Random(20240102)


def weekdays(start, count):
    day = start
    while count:
        if day.weekday() < 5:
            yield day
            count -= 1
        day += datetime.timedelta(days=1)


def bar(prev_close, drift, vol, base_volume):
    close = prev_close * (1 + drift + rng.gauss(0, vol))
    open_ = prev_close * (1 + rng.gauss(0, vol / 3))
    high = max(open_, close) * (1 + abs(rng.gauss(0, vol / 2)))
    low = min(open_, close) * (1 - abs(rng.gauss(0, vol / 2)))
    volume = int(base_volume * rng.uniform(0.75, 1.25))
    return [round(open_, 2), round(high, 2), round(low, 2), round(close, 2), volume]


def series(start_price, drift, vol, base_volume):
    rows, close = [], start_price
    for _ in range(SESSIONS):
        b = bar(close, drift, vol, base_volume)
        rows.append(b)
        close = b[3]
    return rows


def set_last_close(rows, close):
    o, h, l, _, v = rows[-1]
    rows[-1] = [o, round(max(h, o, close), 2), round(min(l, o, close), 2), round(close, 2), v]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "prices")
    os.makedirs(out, exist_ok=True)
    days = list(weekdays(datetime.date(2024, 1, 2), SESSIONS))
    data = {
        "ACME": series(82.0, 0.003, 0.012, 1_200_000),
        "BOLT": series(41.5, 0.0, 0.010, 650_000),
        "CRUX": series(118.0, -0.002, 0.011, 900_000),
        "DYNA": series(23.4, 0.0005, 0.015, 2_100_000),
        "EMBR": series(64.2, 0.0008, 0.009, 400_000),
    }
    prior = lambda rows: rows[-21:-1]
    # ACME: the last close 1.5 % above the highest high of the 20 sessions before it.
    set_last_close(data["ACME"], max(r[1] for r in prior(data["ACME"])) * 1.015)
    # CRUX: the last close 1.2 % below the lowest low of the 20 sessions before it.
    set_last_close(data["CRUX"], min(r[2] for r in prior(data["CRUX"])) * 0.988)
    # BOLT: 3.2 times the average volume of the 20 sessions before, the close inside the range.
    bolt = data["BOLT"]
    bolt[-1][4] = int(3.2 * sum(r[4] for r in prior(bolt)) / 20)
    set_last_close(bolt, (max(r[1] for r in prior(bolt)) + min(r[2] for r in prior(bolt))) / 2)
    for symbol, rows in data.items():
        dated = list(zip(days, rows))
        if symbol == "DYNA":
            del dated[40:45]  # a week without data
        with open(os.path.join(out, symbol + ".csv"), "w", newline="") as f:
            f.write("date,open,high,low,close,volume\n")
            for day, (o, h, l, c, v) in dated:
                f.write(f"{day.isoformat()},{o:.2f},{h:.2f},{l:.2f},{c:.2f},{v}\n")


if __name__ == "__main__":
    main()
