//! Bounded attribution tables (space-saving top-K), per series.

/// Attribute tags.
pub(crate) const ATTR_ARN: u8 = 0;
pub(crate) const ATTR_AGENT: u8 = 1;
pub(crate) const ATTR_ERROR: u8 = 2;
pub(crate) const ATTR_NAMES: [&str; 3] = ["userIdentityArn", "userAgent", "errorCode"];

/// An exact count (incident and undecided-run tables).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Counted {
    pub value: u32,
    pub count: u32,
    pub attr: u8,
}

/// A time-weighted count (baseline table).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Weighted {
    pub weight: f64,
    pub value: u32,
    pub attr: u8,
}

/// Events of a not yet finalised minute, aggregated per (minute, attribute, value).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pending {
    pub minute: i64,
    pub value: u32,
    pub count: u32,
    pub attr: u8,
}

/// Space-saving insert: add `n` to `value`'s entry; with `cap` entries of this attribute
/// already present, the smallest one is taken over (keeping its count, the classic
/// overestimate that keeps heavy hitters in the table).
pub(crate) fn add_counted(table: &mut Vec<Counted>, attr: u8, value: u32, n: u32, cap: usize) {
    let mut seen = 0;
    let mut min_idx = usize::MAX;
    let mut min_count = u32::MAX;
    for (i, e) in table.iter_mut().enumerate() {
        if e.attr != attr {
            continue;
        }
        if e.value == value {
            e.count = e.count.saturating_add(n);
            return;
        }
        seen += 1;
        if e.count < min_count {
            min_count = e.count;
            min_idx = i;
        }
    }
    if seen < cap {
        table.push(Counted { value, count: n, attr });
    } else {
        let e = &mut table[min_idx];
        e.value = value;
        e.count = e.count.saturating_add(n);
    }
}

pub(crate) fn add_weighted(table: &mut Vec<Weighted>, attr: u8, value: u32, w: f64, cap: usize) {
    let mut seen = 0;
    let mut min_idx = usize::MAX;
    let mut min_w = f64::INFINITY;
    for (i, e) in table.iter_mut().enumerate() {
        if e.attr != attr {
            continue;
        }
        if e.value == value {
            e.weight += w;
            return;
        }
        seen += 1;
        if e.weight < min_w {
            min_w = e.weight;
            min_idx = i;
        }
    }
    if seen < cap {
        table.push(Weighted { weight: w, value, attr });
    } else {
        let e = &mut table[min_idx];
        e.value = value;
        e.weight += w;
    }
}

/// Adds one event to the pending table of its minute; at most `cap` values per (minute,
/// attribute), then space-saving.
pub(crate) fn add_pending(table: &mut Vec<Pending>, minute: i64, attr: u8, value: u32, cap: usize) {
    let mut seen = 0;
    let mut min_idx = usize::MAX;
    let mut min_count = u32::MAX;
    for i in (0..table.len()).rev() {
        let e = &mut table[i];
        if e.minute != minute || e.attr != attr {
            continue;
        }
        if e.value == value {
            e.count += 1;
            return;
        }
        seen += 1;
        if e.count < min_count {
            min_count = e.count;
            min_idx = i;
        }
    }
    if seen < cap {
        table.push(Pending {
            minute,
            value,
            count: 1,
            attr,
        });
    } else {
        let e = &mut table[min_idx];
        e.value = value;
        e.count += 1;
    }
}

/// Moves the pending entries of `minute` into `out` (cleared first).
pub(crate) fn take_pending(table: &mut Vec<Pending>, minute: i64, out: &mut Vec<Pending>) {
    out.clear();
    if table.is_empty() {
        return;
    }
    table.retain(|e| {
        if e.minute == minute {
            out.push(*e);
            false
        } else {
            true
        }
    });
}
