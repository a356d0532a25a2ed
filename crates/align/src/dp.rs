//! Monotone sequence alignment by dynamic programming over "beads" (Gale &
//! Church 1993): each bead takes 0–2 items from one sequence and 0–2 from the
//! other, and the alignment is the chain of beads of least total cost. Used
//! for sections (heading trees flattened in document order) and for records
//! inside aligned sections.

/// The bead shapes allowed: (items of `a`, items of `b`).
pub const SHAPES: [(usize, usize); 5] = [(1, 1), (1, 0), (0, 1), (2, 1), (1, 2)];

/// One bead of an alignment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bead {
    /// First item of `a`.
    pub a: usize,
    /// Number of items of `a` (0–2).
    pub na: usize,
    /// First item of `b`.
    pub b: usize,
    /// Number of items of `b` (0–2).
    pub nb: usize,
    /// The bead's cost.
    pub cost: f64,
    /// What the cost function said besides the cost (see [`align_with`]).
    pub sim: f64,
}

/// Aligns sequences of lengths `n` and `m`; `cost(a, na, b, nb)` prices a
/// bead (return `f64::INFINITY` to forbid it). Ties go to the earlier shape
/// in [`SHAPES`], so the result is deterministic.
pub fn align(n: usize, m: usize, mut cost: impl FnMut(usize, usize, usize, usize) -> f64) -> Vec<Bead> {
    align_with(n, m, |i, ni, j, nj| (cost(i, ni, j, nj), 0.0))
}

/// [`align`] with a cost function that returns (cost, similarity); each
/// bead of the result carries the similarity its cost came with.
pub fn align_with(n: usize, m: usize, mut cost: impl FnMut(usize, usize, usize, usize) -> (f64, f64)) -> Vec<Bead> {
    let w = m + 1;
    let mut best = vec![f64::INFINITY; (n + 1) * w];
    let mut back = vec![u8::MAX; (n + 1) * w];
    let mut sims = vec![0.0f64; (n + 1) * w];
    best[0] = 0.0;
    for i in 0..=n {
        for j in 0..=m {
            if i == 0 && j == 0 {
                continue;
            }
            let mut bc = f64::INFINITY;
            let mut bs = u8::MAX;
            let mut bsim = 0.0;
            for (s, &(da, db)) in SHAPES.iter().enumerate() {
                if da > i || db > j {
                    continue;
                }
                let prev = best[(i - da) * w + (j - db)];
                if !prev.is_finite() {
                    continue;
                }
                let (c, sim) = cost(i - da, da, j - db, db);
                let c = prev + c;
                if c < bc {
                    bc = c;
                    bs = s as u8;
                    bsim = sim;
                }
            }
            best[i * w + j] = bc;
            back[i * w + j] = bs;
            sims[i * w + j] = bsim;
        }
    }
    let mut beads = Vec::new();
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        let s = back[i * w + j];
        // 1–0 and 0–1 are always allowed by callers, so every cell is reachable.
        let (da, db) = SHAPES[s as usize];
        let c = best[i * w + j] - best[(i - da) * w + (j - db)];
        beads.push(Bead { a: i - da, na: da, b: j - db, nb: db, cost: c, sim: sims[i * w + j] });
        i -= da;
        j -= db;
    }
    beads.reverse();
    beads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lens_cost<'a>(a: &'a [f64], b: &'a [f64]) -> impl FnMut(usize, usize, usize, usize) -> f64 + 'a {
        move |i, na, j, nb| {
            if na == 0 || nb == 0 {
                return 5.0;
            }
            let la: f64 = a[i..i + na].iter().sum();
            let lb: f64 = b[j..j + nb].iter().sum();
            (la - lb).abs() / 5.0 + if na + nb > 2 { 1.0 } else { 0.0 }
        }
    }

    #[test]
    fn recovers_a_split_and_a_deletion() {
        let a = [10.0, 40.0, 60.0, 20.0];
        let b = [10.0, 20.0, 20.0, 20.0];
        let beads = align(a.len(), b.len(), lens_cost(&a, &b));
        let shapes: Vec<_> = beads.iter().map(|b| (b.a, b.na, b.b, b.nb)).collect();
        assert_eq!(shapes, vec![(0, 1, 0, 1), (1, 1, 1, 2), (2, 1, 3, 0), (3, 1, 3, 1)]);
    }

    #[test]
    fn empty_sides_give_only_skips() {
        let beads = align(2, 0, |_, _, _, _| 1.0);
        assert_eq!(beads.len(), 2);
        assert!(beads.iter().all(|b| b.nb == 0));
        assert!(align(0, 0, |_, _, _, _| 1.0).is_empty());
    }
}
