"""Deterministic, vectorized generator of the platform's raw CSVs (customers, products, orders).

Faker only builds small pools (names, cities, product words); every row is sampled from those pools
with numpy and written with pyarrow's CSV writer, in chunks, so 10M orders stay memory-lean.
The same ``seed`` (and anchor date) always gives byte-identical files.

Defects (``defect_rate``): that fraction of orders is made defective, cycling over the kinds of
``ORDER_DEFECT_KINDS``; a few customers and products get defects too. The returned counts are keyed by
the reason code (the part of a quarantine ``reason`` before ``:``) so they reconcile with quarantine.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from faker import Faker

from lakehouse_core.errors import DataError
from lakehouse_core.pipeline.raw import write_atomically
from lakehouse_core.schemas import CATEGORIES, PAYMENT_METHODS, RAW_COLUMNS, SEGMENTS, STATUSES

logger = logging.getLogger(__name__)

DEFAULT_ANCHOR = date(2026, 11, 26)
"""Last possible order date; fixed so that output is deterministic."""
CHUNK_ROWS = 1_000_000
ORDER_DEFECT_KINDS = (
    "null_key", "negative_amount", "invalid_status", "duplicate_order_id", "orphan_key", "unparseable_date",
)
CUSTOMER_DEFECT_KINDS = ("null_key", "invalid_segment", "unparseable_date")
PRODUCT_DEFECT_KINDS = ("null_key", "nonpositive_price", "invalid_category")
BAD_STATUSES = ("shipped?", "refunded")
BAD_DATES = ("2024-13-45", "not-a-date")

_SEGMENT_P = (0.2, 0.5, 0.3)
_STATUS_P = (0.80, 0.12, 0.08)
_PAYMENT_P = (0.55, 0.25, 0.20)
_QTY_P = (0.50, 0.25, 0.12, 0.08, 0.05)
_PRICE_RANGE = {  # cents, per category (log-uniform inside)
    "Electronics": (2_000, 150_000), "Clothing": (500, 20_000), "Home": (1_000, 50_000),
    "Sports": (1_000, 40_000), "Books": (500, 6_000),
}
_NOUNS = {
    "Electronics": ("Headphones", "Laptop", "Speaker", "Monitor", "Camera", "Tablet", "Charger", "Keyboard"),
    "Clothing": ("Jacket", "T-Shirt", "Sneakers", "Jeans", "Hoodie", "Dress", "Scarf", "Cap"),
    "Home": ("Lamp", "Blender", "Pillow", "Kettle", "Rug", "Vase", "Toaster", "Shelf"),
    "Sports": ("Yoga Mat", "Dumbbell", "Bicycle", "Racket", "Football", "Helmet", "Tent", "Bottle"),
    "Books": ("Novel", "Cookbook", "Atlas", "Biography", "Guide", "Anthology", "Thriller", "Handbook"),
}
_WRITE = pcsv.WriteOptions(include_header=False, quoting_style="none")


@dataclass(frozen=True)
class GenerationSummary:
    """Rows written per table and exact defect counts per table and reason code."""

    rows: dict[str, int]
    defects: dict[str, dict[str, int]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


def sizes_for(orders: int) -> tuple[int, int]:
    """(customers, products) for ``orders`` orders: N//5 and max(200, N//25)."""
    return max(1, orders // 5), max(200, orders // 25)


@dataclass(frozen=True)
class _Pools:
    first: pa.Array
    last: pa.Array
    first_mail: pa.Array
    last_mail: pa.Array
    city: pa.Array
    state: pa.Array
    words: pa.Array


def _clean(text: str) -> str:
    return re.sub(r"[,\"'\r\n]", "", text).strip() or "X"


def _pools(seed: int) -> _Pools:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    first = [_clean(fake.first_name()) for _ in range(400)]
    last = [_clean(fake.last_name()) for _ in range(400)]
    places = [(_clean(fake.city()), fake.state_abbr()) for _ in range(300)]
    words = [_clean(fake.word()).title() for _ in range(200)]

    def mail(names: list[str]) -> pa.Array:
        return pa.array([re.sub(r"[^a-z]", "", n.lower()) or "user" for n in names])

    return _Pools(
        first=pa.array(first), last=pa.array(last), first_mail=mail(first), last_mail=mail(last),
        city=pa.array([c for c, _ in places]), state=pa.array([s for _, s in places]), words=pa.array(words),
    )


def _cents_to_text(cents: np.ndarray) -> pa.Array:
    """Exact "123.45" / "-0.50" text from integer cents."""
    absolute = np.abs(cents)
    units = pa.array(absolute // 100).cast(pa.string())
    frac = pc.utf8_lpad(pa.array(absolute % 100).cast(pa.string()), 2, "0")
    text = pc.binary_join_element_wise(units, frac, ".")
    return pc.if_else(pa.array(cents < 0), pc.binary_join_element_wise(pa.scalar("-"), text, ""), text)


def _dates(anchor: date, days_back: np.ndarray) -> pa.Array:
    epoch = (anchor - date(1970, 1, 1)).days
    return pa.array((epoch - days_back).astype(np.int32), type=pa.date32())


def _replace(arr: pa.Array, positions: np.ndarray, values: list[object] | pa.Array) -> pa.Array:
    if len(positions) == 0:
        return arr
    mask = np.zeros(len(arr), dtype=bool)
    mask[positions] = True
    repl = values if isinstance(values, pa.Array) else pa.array(values, type=arr.type)
    order = np.argsort(positions, kind="stable")
    return pc.replace_with_mask(arr, pa.array(mask), repl.take(pa.array(order)))


@contextmanager
def _csv_writer(path: Path, table: str) -> Iterator[pcsv.CSVWriter]:
    """CSV writer with a plain (unquoted) header line, values never quoted (pools hold no commas)."""
    schema = pa.schema([(c, pa.string()) for c in RAW_COLUMNS[table]])
    with open(path, "wb") as fh:
        fh.write((",".join(RAW_COLUMNS[table]) + "\n").encode())
        with pcsv.CSVWriter(fh, schema, write_options=_WRITE) as writer:
            yield writer


def _pick_defects(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    count = min(count, n)
    return np.sort(rng.choice(n, size=count, replace=False)) if count else np.empty(0, dtype=np.int64)


def _remap_avoiding(n: int, bad_ids: np.ndarray) -> np.ndarray:
    """Array mapping every id 1..n to itself, except bad ids which map to the next good id (wrapping)."""
    remap = np.arange(n + 1, dtype=np.int64)
    bad = set(int(b) for b in bad_ids)
    if len(bad) >= n:
        return remap
    for b in sorted(bad):
        cand = b
        while cand in bad:
            cand = cand % n + 1
        remap[b] = cand
    return remap


def _write_customers(path: Path, n: int, seed: int, rate: float, anchor: date, pools: _Pools) -> tuple[
        dict[str, int], np.ndarray]:
    rng_d = np.random.default_rng([seed, 11])
    defect_pos = _pick_defects(rng_d, n, round(n * rate * 0.5))
    counts: Counter[str] = Counter()
    schema = pa.schema([(c, pa.string()) for c in RAW_COLUMNS["customers"]])
    with _csv_writer(path, "customers") as writer:
        for k, start in enumerate(range(0, n, CHUNK_ROWS)):
            size = min(CHUNK_ROWS, n - start)
            rng = np.random.default_rng([seed, 1, k])
            ids = np.arange(start + 1, start + size + 1, dtype=np.int64)
            fi = pa.array(rng.integers(0, len(pools.first), size))
            la = pa.array(rng.integers(0, len(pools.last), size))
            pl = pa.array(rng.integers(0, len(pools.city), size))
            reg = _dates(anchor, rng.integers(366, 366 + 3 * 365, size))
            seg_idx = rng.choice(len(SEGMENTS), size=size, p=_SEGMENT_P)
            id_text = pa.array(ids).cast(pa.string())
            email = pc.binary_join_element_wise(
                pools.first_mail.take(fi), ".", pools.last_mail.take(la), id_text, "@example.com", "")
            cols = {
                "customer_id": id_text, "email": email, "first_name": pools.first.take(fi),
                "last_name": pools.last.take(la), "city": pools.city.take(pl), "state": pools.state.take(pl),
                "registration_date": reg.cast(pa.string()),
                "customer_segment": pa.array(SEGMENTS).take(pa.array(seg_idx)),
            }
            ordinal = np.searchsorted(defect_pos, start)
            local = defect_pos[(defect_pos >= start) & (defect_pos < start + size)] - start
            kinds = [CUSTOMER_DEFECT_KINDS[(ordinal + j) % 3] for j in range(len(local))]
            for kind, column, value in (
                ("null_key", "customer_id", None), ("invalid_segment", "customer_segment", "Gold"),
                ("unparseable_date", "registration_date", "not-a-date"),
            ):
                pos = np.array([p for p, kd in zip(local, kinds, strict=True) if kd == kind], dtype=np.int64)
                cols[column] = _replace(cols[column], pos, [value] * len(pos))
                counts[kind] += len(pos)
            writer.write_table(pa.table(cols, schema=schema))
    return dict(counts), defect_pos + 1


def _write_products(path: Path, n: int, seed: int, rate: float, pools: _Pools) -> tuple[
        dict[str, int], np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 2])
    ids = np.arange(1, n + 1, dtype=np.int64)
    cat_idx = rng.integers(0, len(CATEGORIES), n)
    lo = np.array([_PRICE_RANGE[c][0] for c in CATEGORIES])[cat_idx]
    hi = np.array([_PRICE_RANGE[c][1] for c in CATEGORIES])[cat_idx]
    price = np.round(np.exp(rng.uniform(np.log(lo), np.log(hi)))).astype(np.int64)
    nouns = [f"{noun}" for c in CATEGORIES for noun in _NOUNS[c]]
    noun_idx = cat_idx * 8 + rng.integers(0, 8, n)
    word = pools.words.take(pa.array(rng.integers(0, len(pools.words), n)))
    name = pc.binary_join_element_wise(word, pa.array(nouns).take(pa.array(noun_idx)), " ")
    cols = {
        "product_id": pa.array(ids).cast(pa.string()), "product_name": name,
        "category": pa.array(CATEGORIES).take(pa.array(cat_idx)), "price": _cents_to_text(price),
        "stock_quantity": pa.array(rng.integers(0, 1001, n)).cast(pa.string()),
    }
    defect_pos = _pick_defects(np.random.default_rng([seed, 12]), n, round(n * rate * 0.5))
    counts: Counter[str] = Counter()
    for j, kind in enumerate(PRODUCT_DEFECT_KINDS):
        pos = defect_pos[j::3]
        column, values = {
            "null_key": ("product_id", [None] * len(pos)),
            "nonpositive_price": ("price", [("0.00" if i % 2 else f"-{price[p] / 100:.2f}")
                                            for i, p in enumerate(pos)]),
            "invalid_category": ("category", ["Toys"] * len(pos)),
        }[kind]
        cols[column] = _replace(cols[column], pos, values)
        counts[kind] += len(pos)
    schema = pa.schema([(c, pa.string()) for c in RAW_COLUMNS["products"]])
    with _csv_writer(path, "products") as writer:
        writer.write_table(pa.table(cols, schema=schema))
    return dict(counts), defect_pos + 1, price


def _orders_chunk(
    rng: np.random.Generator, start: int, size: int, n_customers: int, prices: np.ndarray,
    cust_remap: np.ndarray, prod_remap: np.ndarray, prod_p: np.ndarray, anchor: date,
    local: np.ndarray, ordinal: int, counts: Counter[str],
) -> pa.Table:
    n_products = len(prices)
    ids = np.arange(start + 1, start + size + 1, dtype=np.int64)
    cust = cust_remap[rng.integers(1, n_customers + 1, size)]
    prod = prod_remap[rng.choice(n_products, size=size, p=prod_p) + 1]
    days = rng.integers(0, 365, size)
    qty = rng.choice(np.arange(1, 6), size=size, p=_QTY_P)
    status_idx = rng.choice(len(STATUSES), size=size, p=_STATUS_P)
    pay_idx = rng.choice(len(PAYMENT_METHODS), size=size, p=_PAYMENT_P)
    kinds = np.array([ORDER_DEFECT_KINDS[(ordinal + j) % 6] for j in range(len(local))], dtype=object)
    variant = np.array([((ordinal + j) // 6) % 2 for j in range(len(local))], dtype=np.int64)

    def sel(kind: str, var: int | None = None) -> np.ndarray:
        m = kinds == kind if var is None else (kinds == kind) & (variant == var)
        return local[m] if len(local) else np.empty(0, dtype=np.int64)

    # orphans: ids that do not exist
    orphan_c, orphan_p = sel("orphan_key", 0), sel("orphan_key", 1)
    cust[orphan_c] = n_customers + 1 + orphan_c % 97
    prod[orphan_p] = n_products + 1 + orphan_p % 97
    counts["orphan_customer_id"] += len(orphan_c)
    counts["orphan_product_id"] += len(orphan_p)
    cents = qty * prices[np.clip(prod, 1, n_products) - 1]
    neg = sel("negative_amount")
    cents[neg] = -cents[neg]
    counts["negative_amount"] += len(neg)
    null_o, null_c = sel("null_key", 0), sel("null_key", 1)
    counts["null_key"] += len(null_o) + len(null_c)
    order_id = _replace(pa.array(ids), null_o, [None] * len(null_o))
    bad_status, bad_date = sel("invalid_status"), sel("unparseable_date")
    counts["invalid_status"] += len(bad_status)
    counts["unparseable_date"] += len(bad_date)
    table = pa.table({
        "order_id": order_id.cast(pa.string()),
        "customer_id": _replace(pa.array(cust), null_c, [None] * len(null_c)).cast(pa.string()),
        "product_id": pa.array(prod).cast(pa.string()),
        "order_date": _replace(_dates(anchor, days).cast(pa.string()), bad_date,
                               [BAD_DATES[i % 2] for i in range(len(bad_date))]),
        "quantity": pa.array(qty).cast(pa.string()),
        "total_amount": _cents_to_text(cents),
        "status": _replace(pa.array(STATUSES).take(pa.array(status_idx)), bad_status,
                           [BAD_STATUSES[i % 2] for i in range(len(bad_status))]),
        "payment_method": pa.array(PAYMENT_METHODS).take(pa.array(pay_idx)),
    })
    dups = sel("duplicate_order_id")
    if len(dups):
        defective = np.zeros(size, dtype=bool)
        defective[local] = True
        clean = np.flatnonzero(~defective)
        if len(clean):
            take = np.arange(size)
            before = np.searchsorted(clean, dups) - 1  # nearest clean row before, else the first after
            take[dups] = clean[np.where(before >= 0, before, 0)]
            table = table.take(pa.array(take))
            counts["duplicate_order_id"] += len(dups)
    return table


def _write_all(
    files: dict[str, Path], *, orders: int, seed: int, defect_rate: float, anchor: date,
    on_chunk: Callable[[int, int], None] | None, check_cancel: Callable[[], None] | None,
) -> tuple[dict[str, int], dict[str, int], Counter[str]]:
    """Write the three CSVs to ``files``; return the customer, product and order defect counts."""
    n_customers, n_products = sizes_for(orders)
    pools = _pools(seed)
    cust_defects, bad_customers = _write_customers(
        files["customers"], n_customers, seed, defect_rate, anchor, pools)
    prod_defects, bad_products, prices = _write_products(
        files["products"], n_products, seed, defect_rate, pools)
    cust_remap = _remap_avoiding(n_customers, bad_customers)
    prod_remap = _remap_avoiding(n_products, bad_products)
    weights = 1.0 / (np.arange(n_products) + 20.0)  # mild popularity skew
    prod_p = weights / weights.sum()
    defect_pos = _pick_defects(np.random.default_rng([seed, 13]), orders, round(orders * defect_rate))
    counts: Counter[str] = Counter()
    schema = pa.schema([(c, pa.string()) for c in RAW_COLUMNS["orders"]])
    with _csv_writer(files["orders"], "orders") as writer:
        for k, start in enumerate(range(0, orders, CHUNK_ROWS)):
            if check_cancel is not None:
                check_cancel()
            size = min(CHUNK_ROWS, orders - start)
            lo, hi = np.searchsorted(defect_pos, [start, start + size])
            table = _orders_chunk(
                np.random.default_rng([seed, 3, k]), start, size, n_customers, prices, cust_remap,
                prod_remap, prod_p, anchor, defect_pos[lo:hi] - start, int(lo), counts)
            writer.write_table(table.cast(schema))
            if on_chunk is not None:
                on_chunk(start + size, orders)
    return cust_defects, prod_defects, counts


def generate_raw(
    out_dir: Path,
    *,
    orders: int = 5000,
    seed: int = 42,
    defect_rate: float = 0.0,
    anchor: date = DEFAULT_ANCHOR,
    on_chunk: Callable[[int, int], None] | None = None,
    check_cancel: Callable[[], None] | None = None,
) -> GenerationSummary:
    """Write customers.csv, products.csv and orders.csv into ``out_dir``, replacing them.

    Each file is written to a hidden temp file and renamed over its target once all three are
    complete: a kill or a full disk leaves the previous files as they were (DataError, one line).

    Args:
        orders: number of order rows (customers = N//5, products = max(200, N//25)).
        seed: RNG seed; the same seed gives byte-identical files.
        defect_rate: fraction (0..1) of orders made defective (plus a few customers/products).
        anchor: last possible order date (orders span the 365 days up to it).
        on_chunk: called with (orders written, total) after each chunk of orders.
        check_cancel: called between chunks; raises to stop.
    """
    if orders < 1:
        raise ValueError("orders must be >= 1")
    if not 0.0 <= defect_rate <= 1.0:
        raise ValueError("defect_rate must be within 0..1")
    n_customers, n_products = sizes_for(orders)
    files = {t: out_dir / f"{t}.csv" for t in RAW_COLUMNS}
    staged = {out_dir / f".{t}.csv.tmp": target for t, target in files.items()}
    tmp = dict(zip(files, staged, strict=True))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        cust_defects, prod_defects, counts = _write_all(
            tmp, orders=orders, seed=seed, defect_rate=defect_rate, anchor=anchor, on_chunk=on_chunk,
            check_cancel=check_cancel)
        write_atomically(staged)
    except OSError as exc:
        raise DataError(f"cannot write raw CSVs in {out_dir}: {exc.strerror or exc}") from exc
    finally:
        for t in staged:
            t.unlink(missing_ok=True)
    order_defects = {k: v for k, v in counts.items() if v}
    logger.info("generated %d orders, %d customers, %d products (seed %d)", orders, n_customers,
                n_products, seed)
    return GenerationSummary(
        rows={"customers": n_customers, "products": n_products, "orders": orders},
        defects={
            "customers": {k: v for k, v in cust_defects.items() if v},
            "products": {k: v for k, v in prod_defects.items() if v},
            "orders": order_defects,
        },
        files={t: str(p) for t, p in files.items()},
    )
