//! Exact optimal transport by the primal network simplex on the transportation problem.
//!
//! The graph has one node per source (`0..n`), one per sink (`n..n + m`), a complete set of arcs
//! source -> sink with the given costs and no capacities, plus an artificial root with one artificial arc per
//! node. The artificial arcs form the first basis (a star carrying every supply to or from the root), which is
//! strongly feasible; sinks reach it through arcs of "big-M" cost so that the simplex drives that flow onto
//! real arcs. Pivots keep the tree strongly feasible (Cunningham's leaving-arc rule), which rules out cycling
//! on the heavily degenerate bases that uniform weights produce, and entering arcs are found by block search,
//! the rule LEMON (and hence POT's `ot.emd2`) uses.

use crate::{DistanceError, sum, weights};

/// Relative tolerance on reduced costs: an arc only enters if its reduced cost is below `-EPS` times the
/// magnitude of the numbers it is computed from, so rounding noise never triggers a pivot. Same value as POT.
const EPS: f64 = 10.0 * f64::EPSILON;
/// Artificial arcs still carrying more than this share of the total mass at the end mean unbalanced input.
const RESIDUAL_TOL: f64 = 1e-11;
const NONE: u32 = u32::MAX;

/// The exact optimal-transport cost `min <P, M>` over plans `P >= 0` with row sums `a_w` and column sums
/// `b_w`, i.e. POT's `ot.emd2(a_w, b_w, cost)`. `cost` is `a_w.len() x b_w.len()`, row-major.
///
/// The weights need not be normalised but must carry the same mass (to 1e-6 relative, as POT checks); `b_w`
/// is then rescaled to the mass of `a_w`. Zero-weight points are dropped before solving, as POT does.
pub fn emd(a_w: &[f64], b_w: &[f64], cost: &[f64]) -> Result<f64, DistanceError> {
    let (a, b) = weights::balanced(a_w, b_w)?;
    weights::check_cost(a.len(), b.len(), cost)?;
    let (sa, sb) = (weights::support(&a), weights::support(&b));
    if sa.is_none() && sb.is_none() {
        return Simplex::new(&a, &b, cost).solve();
    }
    let rows = sa.unwrap_or_else(|| (0..a.len()).collect());
    let cols = sb.unwrap_or_else(|| (0..b.len()).collect());
    let m = b.len();
    let sub: Vec<f64> = rows
        .iter()
        .flat_map(|&i| cols.iter().map(move |&j| cost[i * m + j]))
        .collect();
    let pick = |w: &[f64], idx: &[usize]| idx.iter().map(|&k| w[k]).collect::<Vec<_>>();
    Simplex::new(&pick(&a, &rows), &pick(&b, &cols), &sub).solve()
}

/// The spanning tree of the current basis plus the pricing state. Every node other than the root has exactly
/// one tree arc to its parent (`pred`), whose flow and direction are stored on the child, so a pivot only
/// touches the nodes of the cycle and of the subtree that moves.
struct Simplex<'c> {
    n: usize,
    m: usize,
    cost: &'c [f64],
    /// Total supply, the scale for the final balance check.
    mass: f64,
    /// Cost of node u's artificial arc: 0 for a source (u -> root), big-M for a sink (root -> u).
    art_cost: Vec<f64>,
    /// Node potentials: for every tree arc `tail -> head`, `pi[head] = pi[tail] + cost`.
    pi: Vec<f64>,
    parent: Vec<u32>,
    /// Arc id of the tree arc to the parent: `i * m + j` for a real arc, `n * m + u` for an artificial one.
    pred: Vec<usize>,
    /// Whether the tree arc points from the node to its parent.
    up: Vec<bool>,
    flow: Vec<f64>,
    depth: Vec<u32>,
    first_child: Vec<u32>,
    next_sib: Vec<u32>,
    prev_sib: Vec<u32>,
    /// Real arcs currently in the tree (their reduced cost is 0 up to rounding and must never enter).
    basic: Vec<bool>,
    block: usize,
    next_arc: usize,
    /// Scratch buffers reused by every pivot.
    path: Vec<u32>,
    stack: Vec<u32>,
}

impl<'c> Simplex<'c> {
    fn new(a: &[f64], b: &[f64], cost: &'c [f64]) -> Self {
        let (n, m) = (a.len(), b.len());
        let nodes = n + m;
        let root = nodes as u32;
        let max_cost = cost.iter().fold(0.0f64, |acc, c| acc.max(c.abs()));
        // Any path of real arcs costs less than (max_cost + 1) * nodes, so no optimal basis keeps flow on
        // an arc this expensive.
        let big_m = (max_cost + 1.0) * nodes as f64;
        let mut art_cost = vec![0.0; nodes];
        art_cost[n..].fill(big_m);
        let mut pi = vec![0.0; nodes + 1];
        pi[n..nodes].fill(big_m);
        let mut next_sib: Vec<u32> = (1..=nodes as u32).collect();
        next_sib[nodes - 1] = NONE;
        next_sib.push(NONE);
        let mut prev_sib: Vec<u32> = (0..nodes as u32).map(|u| u.wrapping_sub(1)).collect();
        prev_sib[0] = NONE;
        prev_sib.push(NONE);
        let mut first_child = vec![NONE; nodes + 1];
        first_child[nodes] = 0;
        let mut depth = vec![1; nodes + 1];
        depth[nodes] = 0;
        let arcs = n * m;
        Simplex {
            n,
            m,
            cost,
            mass: a.iter().sum(),
            art_cost,
            pi,
            parent: (0..=nodes).map(|u| if u == nodes { NONE } else { root }).collect(),
            pred: (0..=nodes).map(|u| arcs + u).collect(),
            up: (0..=nodes).map(|u| u < n).collect(),
            flow: a.iter().chain(b).copied().chain([0.0]).collect(),
            depth,
            first_child,
            next_sib,
            prev_sib,
            basic: vec![false; arcs],
            block: ((arcs as f64).sqrt() as usize).max(10),
            next_arc: 0,
            path: Vec::new(),
            stack: Vec::new(),
        }
    }

    fn solve(mut self) -> Result<f64, DistanceError> {
        self.initial_pivots()?;
        // Strongly feasible pivots cannot cycle, so this bound only guards against a logic error.
        let limit = 100 * self.n * self.m + 1_000_000;
        let mut pivots = 0usize;
        while let Some(e) = self.find_entering() {
            self.pivot(e)?;
            pivots += 1;
            if pivots > limit {
                return Err(DistanceError::Simplex(format!("no optimum after {pivots} pivots")));
            }
        }
        self.total_cost()
    }

    fn endpoints(&self, e: usize) -> (usize, usize) {
        let arcs = self.n * self.m;
        let root = self.n + self.m;
        if e < arcs {
            (e / self.m, self.n + e % self.m)
        } else if e - arcs < self.n {
            (e - arcs, root)
        } else {
            (root, e - arcs)
        }
    }

    fn arc_cost(&self, e: usize) -> f64 {
        let arcs = self.n * self.m;
        if e < arcs {
            self.cost[e]
        } else {
            self.art_cost[e - arcs]
        }
    }

    fn reduced_cost(&self, e: usize) -> f64 {
        let (s, t) = self.endpoints(e);
        self.arc_cost(e) + self.pi[s] - self.pi[t]
    }

    /// Whether a reduced cost is negative beyond the rounding noise of the values it was computed from.
    fn improves(&self, e: usize, rc: f64) -> bool {
        let (s, t) = self.endpoints(e);
        let scale = self.pi[s].abs().max(self.pi[t].abs()).max(self.arc_cost(e).abs());
        rc < -EPS * scale
    }

    /// Warm start: bring in, for every sink, its cheapest incoming arc. Most of them belong to the optimum, and
    /// they replace big-M arcs at once instead of after many block searches.
    fn initial_pivots(&mut self) -> Result<(), DistanceError> {
        let (n, m) = (self.n, self.m);
        let mut best = vec![f64::INFINITY; m];
        let mut arg = vec![0usize; m];
        for i in 0..n {
            for (j, &c) in self.cost[i * m..(i + 1) * m].iter().enumerate() {
                if c < best[j] {
                    best[j] = c;
                    arg[j] = i;
                }
            }
        }
        for (j, &i) in arg.iter().enumerate() {
            let e = i * m + j;
            if !self.basic[e] && self.improves(e, self.reduced_cost(e)) {
                self.pivot(e)?;
            }
        }
        Ok(())
    }

    /// Block search: scan arcs cyclically from where the last search stopped, and take the most negative
    /// reduced cost of the first block that has an improving one. `None` means the basis is optimal.
    fn find_entering(&mut self) -> Option<usize> {
        let (n, m) = (self.n, self.m);
        let total = n * m;
        let (pi_s, pi_t) = self.pi.split_at(n);
        let pi_t = &pi_t[..m];
        let mut best = 0.0;
        let mut best_e = usize::MAX;
        let mut e = self.next_arc;
        let mut scanned = 0;
        while scanned < total {
            let mut left = self.block.min(total - scanned);
            while left > 0 {
                let (i, j0) = (e / m, e % m);
                let len = left.min(m - j0);
                let row = &self.cost[e..e + len];
                let basic = &self.basic[e..e + len];
                let pi_i = pi_s[i];
                for (k, (&c, &p)) in row.iter().zip(&pi_t[j0..j0 + len]).enumerate() {
                    let rc = c + pi_i - p;
                    if rc < best && !basic[k] {
                        best = rc;
                        best_e = e + k;
                    }
                }
                e += len;
                if e == total {
                    e = 0;
                }
                left -= len;
                scanned += len;
            }
            if best_e != usize::MAX && self.improves(best_e, best) {
                self.next_arc = e;
                return Some(best_e);
            }
        }
        None
    }

    fn find_join(&self, mut u: usize, mut v: usize) -> usize {
        while u != v {
            let (du, dv) = (self.depth[u], self.depth[v]);
            if du >= dv {
                u = self.parent[u] as usize;
            }
            if dv >= du {
                v = self.parent[v] as usize;
            }
        }
        u
    }

    /// Brings arc `e_in` into the basis: pushes flow round the cycle it closes, drops the blocking arc, and
    /// re-hangs the subtree cut off by that arc below the entering arc.
    fn pivot(&mut self, e_in: usize) -> Result<(), DistanceError> {
        let (s, t) = self.endpoints(e_in);
        let join = self.find_join(s, t);

        // The cycle runs s -> t along e_in, then back through the tree t -> join -> s. Arcs traversed against
        // their direction lose flow. Cunningham's rule: of the blocking arcs, take the last one met when
        // walking the cycle from the join (join -> s, e_in, t -> join), which keeps the tree strongly feasible.
        let mut delta = f64::INFINITY;
        let mut u_out = NONE as usize;
        let mut out_on_s = false;
        let mut w = s;
        while w != join {
            if self.up[w] && self.flow[w] < delta {
                (delta, u_out, out_on_s) = (self.flow[w], w, true);
            }
            w = self.parent[w] as usize;
        }
        let mut w = t;
        while w != join {
            if !self.up[w] && self.flow[w] <= delta {
                (delta, u_out, out_on_s) = (self.flow[w], w, false);
            }
            w = self.parent[w] as usize;
        }
        if u_out == NONE as usize {
            return Err(DistanceError::Simplex("unbounded cycle (no blocking arc)".into()));
        }

        if delta > 0.0 {
            let mut w = s;
            while w != join {
                self.flow[w] += if self.up[w] { -delta } else { delta };
                w = self.parent[w] as usize;
            }
            let mut w = t;
            while w != join {
                self.flow[w] += if self.up[w] { delta } else { -delta };
                w = self.parent[w] as usize;
            }
        }

        // The subtree of u_out is cut loose; the entering arc's endpoint inside it (u_in) becomes its new top,
        // hung from the other endpoint (v_in). Parent links along the stem u_in .. u_out are reversed, each
        // tree arc moving (with its flow) from the upper stem node to the lower one.
        let (u_in, v_in) = if out_on_s { (s, t) } else { (t, s) };
        self.path.clear();
        let mut w = u_in;
        loop {
            self.path.push(w as u32);
            if w == u_out {
                break;
            }
            w = self.parent[w] as usize;
        }
        let (mut new_parent, mut new_pred, mut new_up, mut new_flow) = (v_in, e_in, u_in == s, delta);
        for k in 0..self.path.len() {
            let w = self.path[k] as usize;
            let (old_pred, old_up, old_flow) = (self.pred[w], self.up[w], self.flow[w]);
            self.unlink(w);
            self.link(w, new_parent);
            (self.pred[w], self.up[w], self.flow[w]) = (new_pred, new_up, new_flow);
            (new_parent, new_pred, new_up, new_flow) = (w, old_pred, !old_up, old_flow);
        }
        let e_out = new_pred;
        let arcs = self.n * self.m;
        self.basic[e_in] = true;
        if e_out < arcs {
            self.basic[e_out] = false;
        }
        self.refresh_subtree(u_in);
        Ok(())
    }

    fn unlink(&mut self, w: usize) {
        let (prev, next) = (self.prev_sib[w], self.next_sib[w]);
        if prev == NONE {
            self.first_child[self.parent[w] as usize] = next;
        } else {
            self.next_sib[prev as usize] = next;
        }
        if next != NONE {
            self.prev_sib[next as usize] = prev;
        }
    }

    fn link(&mut self, w: usize, p: usize) {
        let first = self.first_child[p];
        self.parent[w] = p as u32;
        self.prev_sib[w] = NONE;
        self.next_sib[w] = first;
        if first != NONE {
            self.prev_sib[first as usize] = w as u32;
        }
        self.first_child[p] = w as u32;
    }

    /// Recomputes depth and potential of every node below `top` from its parent (parents first), so that
    /// potentials stay exactly consistent with the tree arcs instead of accumulating per-pivot shifts.
    fn refresh_subtree(&mut self, top: usize) {
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        stack.push(top as u32);
        while let Some(w) = stack.pop() {
            let w = w as usize;
            let p = self.parent[w] as usize;
            self.depth[w] = self.depth[p] + 1;
            let c = self.arc_cost(self.pred[w]);
            self.pi[w] = if self.up[w] { self.pi[p] - c } else { self.pi[p] + c };
            let mut ch = self.first_child[w];
            while ch != NONE {
                stack.push(ch);
                ch = self.next_sib[ch as usize];
            }
        }
        self.stack = stack;
    }

    /// `<P, M>` over the real arcs of the final tree (the only ones with flow), with compensated summation.
    fn total_cost(&self) -> Result<f64, DistanceError> {
        let arcs = self.n * self.m;
        let nodes = self.n + self.m;
        let mut terms = Vec::with_capacity(nodes);
        for w in 0..nodes {
            let (e, f) = (self.pred[w], self.flow[w]);
            if e < arcs {
                terms.push(f * self.cost[e]);
            } else if f > RESIDUAL_TOL * self.mass {
                return Err(DistanceError::Simplex(format!("supplies are unbalanced by {f:e}")));
            }
        }
        Ok(sum::compensated(terms.into_iter()))
    }
}
