//! Building a new tree from its parent tree and a few edits: only the trees on the edited paths
//! are read and written, whatever the size of the rest of the repository.

use std::collections::BTreeMap;

use git2::{Oid, Repository, Tree};

use crate::{Error, Result, Step};

/// The git file mode of a directory entry.
const TREE_MODE: i32 = 0o040000;

/// A blob id and its git file mode.
type Entry = (Oid, i32);

/// An edit split into path components.
type Split<'a> = (&'a [&'a str], Option<Entry>);

/// One change to a tree: `path` (`/`-separated components) gets `entry` (blob id and file mode),
/// or is removed (with everything under it) when `entry` is `None`.
#[derive(Debug, Clone)]
pub(crate) struct Edit {
    pub(crate) path: String,
    pub(crate) entry: Option<Entry>,
}

/// The id of `base` with `edits` applied, in order. `Ok(None)` when the result is empty (git has
/// no empty subtrees; an empty root is the caller's business).
pub(crate) fn apply_edits(
    repo: &Repository,
    base: Option<&Tree<'_>>,
    edits: &[Edit],
) -> Result<Option<Oid>> {
    let split: Vec<(Vec<&str>, Option<Entry>)> = edits
        .iter()
        .map(|edit| (edit.path.split('/').filter(|c| !c.is_empty()).collect(), edit.entry))
        .collect();
    let refs: Vec<Split<'_>> =
        split.iter().map(|(components, entry)| (components.as_slice(), *entry)).collect();
    apply(repo, base, &refs)
}

fn apply(repo: &Repository, base: Option<&Tree<'_>>, edits: &[Split<'_>]) -> Result<Option<Oid>> {
    let git = |source| Error::Git { step: Step::WriteTree, path: "tree".into(), source };
    // Group the edits by their first component, keeping their order.
    let mut by_name: BTreeMap<&str, Vec<Split<'_>>> = BTreeMap::new();
    for (components, entry) in edits {
        if let Some((first, rest)) = components.split_first() {
            by_name.entry(first).or_default().push((rest, *entry));
        }
    }
    let mut builder = repo.treebuilder(base).map_err(git)?;
    for (name, edits) in by_name {
        let mut current: Option<Entry> =
            base.and_then(|tree| tree.get_name(name)).map(|entry| (entry.id(), entry.filemode()));
        // Edits of the entry itself first (a whole subtree removed or replaced), then the
        // edits below it on top of the result.
        for (rest, entry) in &edits {
            if rest.is_empty() {
                current = *entry;
            }
        }
        let deeper: Vec<Split<'_>> =
            edits.iter().filter(|(rest, _)| !rest.is_empty()).copied().collect();
        if !deeper.is_empty() {
            let subtree = match current {
                Some((id, mode)) if mode == TREE_MODE => Some(repo.find_tree(id).map_err(git)?),
                // A file (or nothing) where a directory is needed: the directory replaces it.
                _ => None,
            };
            current = apply(repo, subtree.as_ref(), &deeper)?.map(|id| (id, TREE_MODE));
        }
        match current {
            Some((id, mode)) => {
                builder.insert(name, id, mode).map_err(git)?;
            }
            None => {
                if builder.get(name).map_err(git)?.is_some() {
                    builder.remove(name).map_err(git)?;
                }
            }
        }
    }
    if builder.is_empty() {
        return Ok(None);
    }
    Ok(Some(builder.write().map_err(git)?))
}
