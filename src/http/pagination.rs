//! Keyset pagination with an opaque cursor.
//!
//! A list is sorted by a stable key ending in the record id; the cursor is the list's name and
//! the key of the last row served, base64url-encoded JSON. Clients treat it as opaque. A cursor
//! works only on the list that gave it out (`/people`'s is refused by `/organisations`, one
//! organisation's people list refuses another's): anything else answers 400. A page fetches
//! `limit + 1` rows to learn whether another page follows.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ProblemType};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A validated `limit` and decoded `cursor`.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// The list the pages are of (its path, e.g. `people` or `organisations/<id>/people`).
    pub list: String,
    pub limit: i64,
    /// The sort key of the last row of the previous page.
    pub after: Option<Vec<String>>,
}

/// What a cursor holds.
#[derive(Serialize, Deserialize)]
struct Cursor {
    /// The list that gave it out.
    l: String,
    /// The sort key of the last row served.
    k: Vec<String>,
}

impl PageRequest {
    /// The page asked for of `list`, whose sort key has `key_len` columns. A cursor given out by
    /// another list, or not given out at all, answers 400 `invalid-parameter`.
    pub fn new(
        list: impl Into<String>,
        limit: Option<i64>,
        cursor: Option<&str>,
        key_len: usize,
    ) -> Result<Self, ApiError> {
        let list = list.into();
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid(
                "limit",
                "out_of_range",
                format!("must be from 1 to {MAX_LIMIT}"),
            ));
        }
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(
                decode(c)
                    .filter(|c| c.l == list && c.k.len() == key_len)
                    .map(|c| c.k)
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            ProblemType::InvalidParameter,
                            "the cursor is not one this list gave out: pass the next_cursor of \
                             this list's previous page, with the same path",
                        )
                    })?,
            ),
        };
        Ok(Self { list, limit, after })
    }

    /// How many rows to fetch: one more than the page, to detect a next page.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// The single-column key (an id) of the previous page, if any.
    pub fn after_one(&self) -> Option<&str> {
        self.after
            .as_ref()
            .and_then(|k| k.first())
            .map(String::as_str)
    }

    /// The two-column key (sort value, id) of the previous page, if any.
    pub fn after_two(&self) -> Option<(&str, &str)> {
        self.after
            .as_ref()
            .and_then(|k| Some((k.first()?.as_str(), k.get(1)?.as_str())))
    }

    /// The two-column key of the previous page with its first column read as a `K` (a time or
    /// a date, say); 400 when the cursor's key is not one (it is no cursor this list gave out).
    pub fn after_keyed<K: std::str::FromStr>(&self) -> Result<Option<(K, &str)>, ApiError> {
        match self.after_two() {
            None => Ok(None),
            Some((k, id)) => k.parse::<K>().map(|k| Some((k, id))).map_err(|_| {
                ApiError::bad_request(
                    ProblemType::InvalidParameter,
                    "the cursor is not one this list gave out",
                )
            }),
        }
    }

    /// Cuts the fetched rows to a page and makes the cursor from the last row's key.
    pub fn page<R, T>(
        &self,
        mut rows: Vec<R>,
        key: impl Fn(&R) -> Vec<String>,
        map: impl FnMut(R) -> T,
    ) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| encode(&self.list, key(r)))
        } else {
            None
        };
        Page {
            items: rows.into_iter().map(map).collect(),
            next_cursor,
        }
    }
}

fn encode(list: &str, key: Vec<String>) -> String {
    let cursor = Cursor {
        l: list.to_owned(),
        k: key,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

fn decode(cursor: &str) -> Option<Cursor> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_bounded() {
        assert_eq!(PageRequest::new("x", None, None, 1).unwrap().limit, 50);
        assert!(PageRequest::new("x", Some(0), None, 1).is_err());
        assert!(PageRequest::new("x", Some(201), None, 1).is_err());
        assert_eq!(
            PageRequest::new("x", Some(200), None, 1).unwrap().limit,
            200
        );
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage_and_other_lists() {
        let req = PageRequest::new("people", Some(2), None, 2).unwrap();
        let page = req.page(
            vec![1, 2, 3],
            |n| vec![format!("name{n}"), n.to_string()],
            |n| n,
        );
        assert_eq!(page.items, vec![1, 2]);
        let cursor = page.next_cursor.unwrap();
        let next = PageRequest::new("people", Some(2), Some(&cursor), 2).unwrap();
        assert_eq!(next.after_two(), Some(("name2", "2")));
        assert!(PageRequest::new("people", None, Some("not-a-cursor"), 2).is_err());
        assert!(PageRequest::new("people", None, Some(&cursor), 1).is_err());
        assert!(PageRequest::new("organisations", None, Some(&cursor), 2).is_err());
        // A cursor of the old shape (the bare key) is refused too.
        let bare = URL_SAFE_NO_PAD.encode(br#"["name2","2"]"#);
        assert!(PageRequest::new("people", None, Some(&bare), 2).is_err());
        let last = req.page(vec![1], |n| vec![n.to_string()], |n| n);
        assert!(last.next_cursor.is_none());
    }
}
