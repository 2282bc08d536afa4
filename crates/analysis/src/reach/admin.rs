//! Paths to full control of an account for many principals at once.
//!
//! [`Model::path_to_admin`] searches breadth first from its start, which is
//! right for one question and wasteful for every credential of an estate: the
//! searches from 100,000 keys walk the same role chains again and again.
//! [`Model::warm_admin_paths`] instead walks once forward from all the starts
//! (computing each principal's next hops once), then once backward from every
//! account administrator, and keeps each principal's distance to the nearest
//! one — through certain hops only, and through any hop. A path is then
//! read off in as many steps as it is long: from the start, the first hop (in
//! [`Model::next`] order) that comes one step closer.
//!
//! That is exactly the path the breadth-first search returns. The search
//! dequeues principals layer by layer, and within a layer in the order of
//! the smallest sequence of hop indices that reaches them, so the first
//! administrator it meets ends the smallest such sequence of the shortest
//! length — the one the step-by-step reading picks. Neither search goes on
//! from an administrator.

use super::{Hop, Model, PrincipalKind};
use std::collections::VecDeque;

/// Every principal's distance to an account administrator, for the principals
/// reachable from the starts given to [`Model::warm_admin_paths`].
pub(super) struct AdminPaths {
    /// Whether the walk from the starts reached the principal (its
    /// distances are then exact).
    known: Vec<bool>,
    /// Hops to the nearest administrator through certain hops (not
    /// conditional, not potential); `u32::MAX` when there is none.
    certain: Vec<u32>,
    /// The same through any hop.
    any: Vec<u32>,
}

const NONE: u32 = u32::MAX;

fn certain(h: &Hop) -> bool {
    !h.conditional && h.potential.is_none()
}

impl Model {
    /// Computes the distance to full control of an account for every
    /// principal reachable from `starts`, so that [`Model::path_to_admin`]
    /// answers for them without a search. `warm` is handed each layer of
    /// principals whose next hops are about to be read, to compute them
    /// beforehand (on every core); it may do nothing. Only the first call
    /// computes; a later path from a principal it did not reach is searched
    /// as before.
    pub fn warm_admin_paths(&self, starts: impl IntoIterator<Item = u32>, warm: &dyn Fn(&[u32])) {
        self.admin_paths
            .get_or_init(|| self.admin_paths(starts, warm));
    }

    fn admin_paths(
        &self,
        starts: impl IntoIterator<Item = u32>,
        warm: &dyn Fn(&[u32]),
    ) -> AdminPaths {
        let n = self.principals.len();
        let is_admin = |p: u32| self.principals[p as usize].kind == PrincipalKind::AccountAdmin;
        let mut known = vec![false; n];
        let mut layer: Vec<u32> = Vec::new();
        for p in starts {
            if (p as usize) < n && !known[p as usize] {
                known[p as usize] = true;
                layer.push(p);
            }
        }
        // Forward: the principals reachable from the starts, and how many
        // hops lead into each (to lay the backward lists out flat).
        let mut into = vec![0u32; n];
        let mut expanded: Vec<u32> = Vec::new();
        while !layer.is_empty() {
            layer.retain(|&p| !is_admin(p));
            warm(&layer);
            let mut next_layer = Vec::new();
            for &p in &layer {
                for h in self.next(p).iter() {
                    into[h.principal as usize] += 1;
                    if !known[h.principal as usize] {
                        known[h.principal as usize] = true;
                        next_layer.push(h.principal);
                    }
                }
            }
            expanded.append(&mut layer);
            layer = next_layer;
        }
        // Backward lists: who reaches each principal in one hop, and whether
        // through a certain hop.
        let mut start = vec![0usize; n + 1];
        for p in 0..n {
            start[p + 1] = start[p] + into[p] as usize;
        }
        let mut fill = start.clone();
        let mut back: Vec<(u32, bool)> = vec![(0, false); start[n]];
        for &p in &expanded {
            for h in self.next(p).iter() {
                let at = &mut fill[h.principal as usize];
                back[*at] = (p, certain(h));
                *at += 1;
            }
        }
        let distances = |certain_only: bool| {
            let mut dist = vec![NONE; n];
            let mut queue = VecDeque::new();
            for p in 0..n as u32 {
                if known[p as usize] && is_admin(p) {
                    dist[p as usize] = 0;
                    queue.push_back(p);
                }
            }
            while let Some(v) = queue.pop_front() {
                let d = dist[v as usize] + 1;
                for &(u, sure) in &back[start[v as usize]..start[v as usize + 1]] {
                    if (sure || !certain_only) && dist[u as usize] == NONE {
                        dist[u as usize] = d;
                        queue.push_back(u);
                    }
                }
            }
            dist
        };
        AdminPaths {
            certain: distances(true),
            any: distances(false),
            known,
        }
    }

    /// The path [`Model::admin_path`] would find, read off the distances;
    /// `None` inside when a start was not reached by the warm-up.
    pub(super) fn admin_path_known(
        &self,
        start: &[u32],
        certain_only: bool,
    ) -> Option<Option<Vec<Hop>>> {
        let paths = self.admin_paths.get()?;
        if start
            .iter()
            .any(|&p| !paths.known.get(p as usize).copied().unwrap_or(false))
        {
            return None;
        }
        let dist = if certain_only {
            &paths.certain
        } else {
            &paths.any
        };
        let Some(&first) = start.iter().min_by_key(|&&p| dist[p as usize]) else {
            return Some(None);
        };
        let mut d = dist[first as usize];
        if d == NONE {
            return Some(None);
        }
        let mut path = vec![Hop {
            principal: first,
            from: None,
            how: "start".into(),
            conditional: false,
            potential: None,
        }];
        let mut at = first;
        while d > 0 {
            let hops = self.next(at);
            let h = hops
                .iter()
                .find(|h| (certain(h) || !certain_only) && dist[h.principal as usize] == d - 1)?;
            let prev = &path[path.len() - 1];
            path.push(Hop {
                from: Some(path.len() as u32 - 1),
                conditional: h.conditional || prev.conditional,
                potential: h.potential.or(prev.potential),
                ..h.clone()
            });
            at = h.principal;
            d -= 1;
        }
        Some(Some(path))
    }
}
