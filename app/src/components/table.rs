//! A page's data table: its column headings over its rows, or a note in its place when there
//! are no rows.

use leptos::prelude::*;

/// `rows` under the column headings `head` (its `<th>` cells) in a `<table>` of `class`.
pub fn data_table<R>(class: &'static str, head: impl IntoView, rows: Vec<R>) -> impl IntoView
where
    R: IntoView,
{
    // In a box that scrolls sideways, so a wide table never widens the page.
    view! {
        // Focusable: a keyboard can scroll it too.
        <div class="table-wrap" tabindex="0">
            <table class=class>
                <thead><tr>{head}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// The table of `rows`, or `empty` (the note that says there are none yet) in its place.
pub fn table_or<R>(
    empty: impl IntoView + 'static,
    class: &'static str,
    head: impl IntoView + 'static,
    rows: Vec<R>,
) -> AnyView
where
    R: IntoView + 'static,
{
    if rows.is_empty() {
        empty.into_any()
    } else {
        data_table(class, head, rows).into_any()
    }
}
