//! The owner's views of `invitations`: one page at a time, filtered, searched and sorted in
//! SQLite (so the window stays quick with a hundred thousand rows), and the counts per status
//! within a search (without one, those [`counts`] keeps).

use super::{counts, invitations, OrDb, Tx};
use crate::error::Result;
use crate::listing::{ListQuery, SortKey, StatusCounts};
use crate::model::{Invitation, Status};

/// A fixed expression for each key (nothing from the query reaches the SQL text), and
/// whether it can be NULL. The expressions match the indexes of migration V6.
fn sort_column(key: SortKey) -> (&'static str, bool) {
    match key {
        SortKey::Created => ("i.id", false),
        SortKey::Email => ("i.email", false),
        SortKey::Name => ("coalesce(i.name, i.email) COLLATE NOCASE", false),
        SortKey::Role => ("i.role COLLATE NOCASE", false),
        SortKey::Status => ("i.status", false),
        SortKey::Expires => ("i.expires_at", false),
        SortKey::Sent => ("i.sent_at", true),
        SortKey::Decided => ("i.decided_at", true),
    }
}

/// `ORDER BY` for this key: ties broken by id, in the same direction. Missing times go
/// last either way (only nullable columns say so: NULLS LAST keeps SQLite off an index).
fn order_by(key: SortKey, descending: bool) -> String {
    let (column, nullable) = sort_column(key);
    let direction = if descending { "DESC" } else { "ASC" };
    let nulls = if nullable { " NULLS LAST" } else { "" };
    if key == SortKey::Created {
        format!("i.id {direction}")
    } else {
        format!("{column} {direction}{nulls}, i.id {direction}")
    }
}

/// The search as SQL: an FTS5 phrase for the trigram index (schema V7) when the text is
/// three characters or more, a LIKE pattern when it is shorter (a trigram index cannot answer
/// that); either way, also the invitation with that id (`#12` or `12`).
pub struct Search {
    by: Option<SearchBy>,
    id: Option<i64>,
}

enum SearchBy {
    /// A double-quoted FTS5 string: matches that text anywhere in a column.
    Phrase(String),
    /// `%text%`, with LIKE's wildcards escaped.
    Pattern(String),
}

/// Trigrams: texts shorter than this cannot use the index.
const TRIGRAM: usize = 3;

impl Search {
    const BY_PHRASE: &'static str = "(i.id IS :id OR i.id IN
        (SELECT rowid FROM invitations_search WHERE invitations_search MATCH :phrase))";
    const BY_PATTERN: &'static str = "(i.id IS :id OR i.email LIKE :pattern ESCAPE '\\'
        OR i.name LIKE :pattern ESCAPE '\\' OR i.role LIKE :pattern ESCAPE '\\')";

    /// The search's part of a WHERE clause: nothing without a search.
    fn filter(&self) -> Vec<&'static str> {
        match self.by {
            Some(SearchBy::Phrase(_)) => vec![Search::BY_PHRASE],
            Some(SearchBy::Pattern(_)) => vec![Search::BY_PATTERN],
            None => Vec::new(),
        }
    }

    fn args(&self) -> Vec<(&'static str, &dyn rusqlite::ToSql)> {
        match &self.by {
            Some(SearchBy::Phrase(phrase)) => vec![(":phrase", phrase), (":id", &self.id)],
            Some(SearchBy::Pattern(pattern)) => vec![(":pattern", pattern), (":id", &self.id)],
            None => Vec::new(),
        }
    }

    pub fn new(text: Option<&str>) -> Search {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Search { by: None, id: None };
        };
        let by = if text.chars().count() >= TRIGRAM {
            // Inside an FTS5 string only `"` is special, and it is doubled.
            SearchBy::Phrase(format!("\"{}\"", text.replace('"', "\"\"")))
        } else {
            let escaped: String = text
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            SearchBy::Pattern(format!("%{escaped}%"))
        };
        Search {
            by: Some(by),
            id: text.trim_start_matches('#').parse().ok(),
        }
    }
}

fn where_clause(conditions: &[&str]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// Per status, within the search.
pub fn counts(tx: &Tx<'_>, search: &Search) -> Result<StatusCounts> {
    // Without a search, the counts the triggers keep (a walk along the status index took
    // milliseconds at 100,000 invitations, on every page the window asked for).
    if search.by.is_none() {
        return counts::status_counts(tx);
    }
    let sql = format!(
        "SELECT i.status, count(*) FROM invitations i {} GROUP BY i.status",
        where_clause(&search.filter())
    );
    let per_status = || -> rusqlite::Result<StatusCounts> {
        let mut stmt = tx.conn.prepare_cached(&sql)?;
        let mut counts = StatusCounts::default();
        let rows = stmt.query_map(search.args().as_slice(), |r| {
            Ok((r.get::<_, Status>(0)?, r.get::<_, u32>(1)?))
        })?;
        for row in rows {
            let (status, n) = row?;
            counts.add(status, n);
        }
        Ok(counts)
    };
    per_status().or_db(tx)
}

/// The page `query` asks for (at most `limit` rows), within the search.
pub fn page(
    tx: &Tx<'_>,
    query: &ListQuery,
    search: &Search,
    limit: u32,
) -> Result<Vec<Invitation>> {
    let order = order_by(query.sort, query.descending);
    let mut filter = search.filter();
    let mut args = search.args();
    if let Some(status) = &query.status {
        filter.push("i.status = :status");
        args.push((":status", status));
    }
    args.push((":limit", &limit));
    args.push((":offset", &query.offset));
    // The page's ids first, along an index of invitations alone (a skip of 50,000 index
    // entries is cheap; 50,000 joins are not), then their rows. Only the conditions in use
    // are in the SQL, so SQLite can pick the index that serves them.
    let sql = format!(
        "SELECT {}
         FROM (SELECT i.id FROM invitations i {}
               ORDER BY {order} LIMIT :limit OFFSET :offset) page
         JOIN invitations i ON i.id = page.id JOIN links l ON l.id = i.link_id
         ORDER BY {order}",
        invitations::COLUMNS,
        where_clause(&filter),
    );
    let rows = || -> rusqlite::Result<Vec<Invitation>> {
        let mut stmt = tx.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(args.as_slice(), invitations::from_row)?;
        rows.collect()
    };
    rows().or_db(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_searches_use_the_index_and_short_ones_escape_like_wildcards() {
        let phrase = |t: &str| match Search::new(Some(t)).by {
            Some(SearchBy::Phrase(p)) => Some(p),
            _ => None,
        };
        let pattern = |t: &str| match Search::new(Some(t)).by {
            Some(SearchBy::Pattern(p)) => Some(p),
            _ => None,
        };
        assert_eq!(phrase(" 50%_off\\ ").as_deref(), Some("\"50%_off\\\""));
        assert_eq!(phrase("say \"hi").as_deref(), Some("\"say \"\"hi\""));
        // Three characters, not three bytes.
        assert_eq!(phrase("Zoë").as_deref(), Some("\"Zoë\""));
        assert_eq!(pattern("%_").as_deref(), Some("%\\%\\_%"));
        assert_eq!(pattern("ë").as_deref(), Some("%ë%"));
        assert_eq!(Search::new(Some("#12")).id, Some(12));
        assert!(Search::new(Some("   ")).by.is_none());
    }
}
