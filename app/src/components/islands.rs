//! The islands: the only components compiled to WASM and hydrated in the browser. Everything
//! else on a page is HTML from the server and plain links and forms that work without
//! JavaScript; an island only makes some of them quicker or kinder (search as you type, the
//! Kill License dialog as a real modal, the Columns menu, live figures). Each reads and
//! changes the server's markup through the DOM, so the markup stays the one source of truth.

use leptos::prelude::*;

/// What every page does in the browser: its drop-down menus (`details.dropdown`, the
/// Columns menu, the phone's menu) close on Escape, returning focus to their button, and on a
/// click elsewhere. It stands last in the page and islands hydrate in document order, so
/// once it runs every island before it is live: it marks the page hydrated (browser tests
/// wait for that before they click).
#[island]
pub fn PageScript() -> impl IntoView {
    Effect::new(move |_| {
        browser::show_copy_buttons();
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    let _keys = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            browser::close_menus(None, true);
        }
    });
    let _clicks = window_event_listener(leptos::ev::click, move |ev| {
        let target: Option<web_sys::Element> = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into(t).ok());
        if let Some(button) = target.as_ref().filter(|t| t.has_attribute("data-copy")) {
            browser::copy(button);
        }
        browser::close_menus(target, false);
    });
    // A page-size choice applies at once (without JavaScript its form's button does it).
    let _choices = window_event_listener(leptos::ev::change, move |ev| browser::submit_choice(&ev));
}

/// The License overview's controls, around the server's card (`children`). Events bubble up to
/// it from the card: typing in the search box, ticking a column, choosing a row or a page
/// size, opening and answering the Kill License dialog. Without JavaScript the same controls
/// are plain forms.
#[island]
pub fn OverviewControls(children: Children) -> impl IntoView {
    let typed = StoredValue::new(0u64);
    // The kill button waits for a row to be chosen (without JavaScript it asks on submit).
    Effect::new(move |_| browser::enable_kill_button());
    let on_input = move |ev: leptos::ev::Event| {
        let Some(input) = browser::input_of(&ev) else {
            return;
        };
        match input.name().as_str() {
            "q" => {
                // Ask once typing pauses, not on every key; an older answer never wins.
                let mine = typed.get_value() + 1;
                typed.set_value(mine);
                set_timeout(
                    move || {
                        if typed.get_value() == mine {
                            leptos::task::spawn_local(browser::search(input, typed, mine));
                        }
                    },
                    std::time::Duration::from_millis(SEARCH_PAUSE_MS),
                );
            }
            "confirm" => browser::arm_kill_confirm(&input),
            _ => {}
        }
    };
    let on_change = move |ev: leptos::ev::Event| browser::changed(&ev);
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| browser::keep_focus_in_dialog(&ev);
    let on_click = move |ev: leptos::ev::MouseEvent| browser::clicked(&ev);
    view! {
        <div class="island" on:input=on_input on:change=on_change on:click=on_click on:keydown=on_keydown>
            {children()}
        </div>
    }
}

/// How long typing must pause before the search asks the server.
const SEARCH_PAUSE_MS: u64 = 300;

/// Keeps the page's live regions (`data-live` with an id) current: the server pushes a
/// message when the tenant's licenses or connectors change, and the page asks itself again
/// and puts the new regions in place. A region marked `data-poll` (a sync in progress) is
/// also asked for every second until it is gone. A dropped stream reconnects by itself.
#[island]
pub fn LiveUpdates() -> impl IntoView {
    Effect::new(move |_| browser::follow_changes());
}

/// What the islands do with the DOM. Called only in the browser (event handlers and effects
/// never run on the server).
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Element, HtmlDialogElement, HtmlFormElement, HtmlInputElement};

    /// The cookie the server reads to render the hidden columns (the Columns menu writes it).
    const COLUMNS_COOKIE: &str = "bandpool_columns";

    pub fn input_of(ev: &leptos::ev::Event) -> Option<HtmlInputElement> {
        ev.target()?.dyn_into::<HtmlInputElement>().ok()
    }

    fn by_id<T: JsCast>(id: &str) -> Option<T> {
        document().get_element_by_id(id)?.dyn_into::<T>().ok()
    }

    /// Search as you type: the page for the search form's values, its results put in place
    /// and its address kept in the URL, unless newer typing has overtaken it.
    pub async fn search(input: HtmlInputElement, typed: StoredValue<u64>, mine: u64) {
        let Some(form) = input.form() else {
            return;
        };
        let Some(url) = form_url(&form) else {
            return;
        };
        let page = fetch_page(&url).await;
        if typed.get_value() != mine {
            return;
        }
        let Ok(page) = page else {
            say_search_failed(true);
            return;
        };
        say_search_failed(false);
        swap(&page, &["overview-results"]);
        if let Some(href) = document()
            .get_element_by_id("overview-results")
            .and_then(|r| r.get_attribute("data-href"))
        {
            if let Ok(history) = window().history() {
                let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&href));
            }
        }
        enable_kill_button();
    }

    /// A search the server did not answer says so above the table (which stays as it was); the
    /// Search button still works the plain way.
    fn say_search_failed(failed: bool) {
        if let Some(old) = document().get_element_by_id("search-failed") {
            old.remove();
        }
        let region = document().get_element_by_id("overview-results");
        if let (true, Some(region), Ok(note)) = (failed, region, document().create_element("div")) {
            note.set_id("search-failed");
            note.set_class_name("error-note");
            let _ = note.set_attribute("role", "alert");
            note.set_text_content(Some(
                "The search could not be run: the server did not answer. Press Search to try again.",
            ));
            let _ = region.before_with_node_1(&note);
        }
    }

    /// The GET address a form would go to.
    fn form_url(form: &HtmlFormElement) -> Option<String> {
        let data = web_sys::FormData::new_with_form(form).ok()?;
        let params =
            web_sys::UrlSearchParams::new_with_str_sequence_sequence(data.as_ref()).ok()?;
        let action = form.get_attribute("action").unwrap_or_default();
        Some(format!("{action}?{}", String::from(params.to_string())))
    }

    /// The page at `url`, parsed.
    async fn fetch_page(url: &str) -> Result<web_sys::Document, JsValue> {
        let response: web_sys::Response = JsFuture::from(window().fetch_with_str(url))
            .await?
            .dyn_into()?;
        if !response.ok() || response.redirected() {
            // Signed out meanwhile, or a failure: a full load shows why.
            return Err(JsValue::NULL);
        }
        let text = JsFuture::from(response.text()?).await?;
        let text = text.as_string().unwrap_or_default();
        web_sys::DomParser::new()?.parse_from_string(&text, web_sys::SupportedType::TextHtml)
    }

    /// Put the regions with these ids from `page` in place of ours, keeping what the person
    /// was doing in them: a live update arriving while someone picks a row must not take their
    /// choice or their keyboard focus away.
    fn swap(page: &web_sys::Document, ids: &[&str]) {
        for id in ids {
            if let (Some(ours), Some(theirs)) =
                (document().get_element_by_id(id), page.get_element_by_id(id))
            {
                let held = Held::of(&ours);
                ours.set_outer_html(&theirs.outer_html());
                if let Some(new) = document().get_element_by_id(id) {
                    held.restore(&new);
                }
            }
        }
    }

    /// A region's check boxes and radio buttons as the person left them, and the control that
    /// had the focus, found again in the region's new markup by what identifies it there.
    struct Held {
        checks: Vec<(String, String, bool)>,
        focus: Option<Focus>,
    }

    enum Focus {
        Id(String),
        Input { name: String, value: String },
        Link(String),
    }

    fn inputs_in(region: &Element) -> Vec<HtmlInputElement> {
        let Ok(found) =
            region.query_selector_all("input[type=radio][name], input[type=checkbox][name]")
        else {
            return Vec::new();
        };
        (0..found.length())
            .filter_map(|i| found.item(i)?.dyn_into::<HtmlInputElement>().ok())
            .collect()
    }

    impl Held {
        fn of(region: &Element) -> Held {
            let checks = inputs_in(region)
                .iter()
                .map(|i| (i.name(), i.value(), i.checked()))
                .collect();
            let focus = document()
                .active_element()
                .filter(|f| region.contains(Some(&**f)))
                .and_then(|f| {
                    if !f.id().is_empty() {
                        return Some(Focus::Id(f.id()));
                    }
                    if let Some(input) = f.dyn_ref::<HtmlInputElement>() {
                        return Some(Focus::Input {
                            name: input.name(),
                            value: input.value(),
                        });
                    }
                    f.get_attribute("href").map(Focus::Link)
                });
            Held { checks, focus }
        }

        fn restore(&self, region: &Element) {
            let inputs = inputs_in(region);
            for input in &inputs {
                if let Some((_, _, checked)) = self
                    .checks
                    .iter()
                    .find(|(name, value, _)| *name == input.name() && *value == input.value())
                {
                    input.set_checked(*checked);
                }
            }
            let target: Option<Element> = match &self.focus {
                None => None,
                Some(Focus::Id(id)) => document().get_element_by_id(id),
                Some(Focus::Input { name, value }) => inputs
                    .into_iter()
                    .find(|i| i.name() == *name && i.value() == *value)
                    .map(Into::into),
                Some(Focus::Link(href)) => {
                    region.query_selector_all("a[href]").ok().and_then(|links| {
                        (0..links.length())
                            .filter_map(|i| links.item(i)?.dyn_into::<Element>().ok())
                            .find(|a| a.get_attribute("href").as_deref() == Some(href))
                    })
                }
            };
            if let Some(target) = target.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) {
                let _ = target.focus();
            }
        }
    }

    /// Every live region (`data-live` with an id) of `page` in place of ours.
    fn swap_live(page: &web_sys::Document) {
        let Ok(regions) = page.query_selector_all("[data-live][id]") else {
            return;
        };
        let ids: Vec<String> = (0..regions.length())
            .filter_map(|i| regions.item(i)?.dyn_into::<Element>().ok())
            .map(|e| e.id())
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        swap(page, &ids);
    }

    pub fn enable_kill_button() {
        if let Some(button) = by_id::<web_sys::HtmlButtonElement>("kill-button") {
            let chosen = document()
                .query_selector("input[name=kill]:checked")
                .ok()
                .flatten()
                .is_some();
            button.set_disabled(!chosen);
        }
    }

    /// The dialog's Kill License button waits for the word.
    pub fn arm_kill_confirm(input: &HtmlInputElement) {
        if let Ok(Some(button)) = document().query_selector("[data-kill-confirm]") {
            if let Ok(button) = button.dyn_into::<web_sys::HtmlButtonElement>() {
                button.set_disabled(input.value().trim() != "KILL");
            }
        }
    }

    /// Tab and Shift+Tab go round the open dialog's controls, never out to the page or the
    /// browser's own bar.
    pub fn keep_focus_in_dialog(ev: &leptos::ev::KeyboardEvent) {
        if ev.key() != "Tab" {
            return;
        }
        let Some(target) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let Ok(Some(dialog)) = target.closest("dialog[open]") else {
            return;
        };
        let Ok(controls) = dialog.query_selector_all(
            "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select, textarea",
        ) else {
            return;
        };
        let controls: Vec<web_sys::HtmlElement> = (0..controls.length())
            .filter_map(|i| controls.item(i)?.dyn_into::<web_sys::HtmlElement>().ok())
            .collect();
        let (Some(first), Some(last)) = (controls.first(), controls.last()) else {
            return;
        };
        let at = |e: &web_sys::HtmlElement| {
            let node: &web_sys::Node = e;
            node.is_same_node(Some(target.as_ref()))
        };
        if ev.shift_key() && at(first) {
            ev.prevent_default();
            let _ = last.focus();
        } else if !ev.shift_key() && at(last) {
            ev.prevent_default();
            let _ = first.focus();
        }
    }

    pub fn changed(ev: &leptos::ev::Event) {
        let Some(target) = ev.target() else {
            return;
        };
        if let Some(input) = target.dyn_ref::<HtmlInputElement>() {
            match input.name().as_str() {
                "kill" => enable_kill_button(),
                "show" => columns_changed(),
                _ => {}
            }
        }
    }

    /// A `select[data-submit-on-change]` sends its form when chosen.
    pub fn submit_choice(ev: &leptos::ev::Event) {
        let Some(select) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
        else {
            return;
        };
        if select.has_attribute("data-submit-on-change") {
            if let Some(form) = select.form() {
                let _ = form.submit();
            }
        }
    }

    /// The chosen columns show at once and are remembered in a cookie, so the server renders
    /// them the same way next time.
    fn columns_changed() {
        let Ok(boxes) = document().query_selector_all(".columns-menu input[name=show]") else {
            return;
        };
        let table = document().query_selector("table.licenses").ok().flatten();
        let mut hidden = Vec::new();
        for i in 0..boxes.length() {
            let Some(input) = boxes
                .item(i)
                .and_then(|n| n.dyn_into::<HtmlInputElement>().ok())
            else {
                continue;
            };
            let key = input.value();
            if let Some(table) = &table {
                let _ = table
                    .class_list()
                    .toggle_with_force(&format!("hide-{key}"), !input.checked());
            }
            if !input.checked() {
                hidden.push(key);
            }
        }
        if let Ok(doc) = document().dyn_into::<web_sys::HtmlDocument>() {
            let _ = doc.set_cookie(&format!(
                "{COLUMNS_COOKIE}={}; path=/; max-age=31536000; samesite=lax",
                hidden.join(".")
            ));
        }
    }

    pub fn clicked(ev: &leptos::ev::MouseEvent) {
        let Some(target) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        if target.closest("#kill-button").ok().flatten().is_some() {
            ev.prevent_default();
            leptos::task::spawn_local(open_kill_dialog());
        } else if let Ok(Some(link)) = target.closest("a[data-history-link]") {
            // A history opens (or closes) in its drawer without leaving the row in view.
            if let Some(href) = link.get_attribute("href") {
                ev.prevent_default();
                leptos::task::spawn_local(show_history(href));
            }
        } else if let Ok(Some(close)) = target.closest("[data-close-dialog]") {
            if let Ok(Some(dialog)) = close.closest("dialog") {
                ev.prevent_default();
                if let Ok(dialog) = dialog.dyn_into::<HtmlDialogElement>() {
                    dialog.close();
                }
            }
        }
    }

    /// The page for `href` (a history opened or closed): its history region in place of ours,
    /// and its address in the URL.
    async fn show_history(href: String) {
        match fetch_page(&href).await {
            Ok(page) => {
                swap(&page, &["history-region"]);
                if let Ok(history) = window().history() {
                    let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&href));
                }
            }
            Err(_) => {
                let _ = window().location().set_href(&href);
            }
        }
    }

    /// Kill License: the server's dialog for the chosen row, opened as a modal (focus stays
    /// in it, Escape closes it, and focus returns to the button).
    async fn open_kill_dialog() {
        let Some(form) = by_id::<HtmlFormElement>("kill-pick") else {
            return;
        };
        let Some(url) = form_url(&form) else {
            return;
        };
        let Ok(page) = fetch_page(&url).await else {
            // Could not ask: go there the plain way.
            let _ = window().location().set_href(&url);
            return;
        };
        swap(&page, &["kill-dialog"]);
        let Some(dialog) = document()
            .query_selector("#kill-dialog dialog")
            .ok()
            .flatten()
            .and_then(|d| d.dyn_into::<HtmlDialogElement>().ok())
        else {
            return;
        };
        // The server renders it open (for pages without JavaScript); reopen it as a modal.
        dialog.close();
        if let Ok(Some(button)) = dialog.query_selector("[data-kill-confirm]") {
            if let Ok(button) = button.dyn_into::<web_sys::HtmlButtonElement>() {
                button.set_disabled(true);
            }
        }
        let _ = dialog.show_modal();
    }

    /// Copy buttons (`data-copy` naming the element whose text they copy) need a script, so
    /// they are hidden until it runs; without one, the text is there to select.
    pub fn show_copy_buttons() {
        if let Ok(buttons) = document().query_selector_all("button[data-copy]") {
            for i in 0..buttons.length() {
                if let Some(button) = buttons.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                    let _ = button.remove_attribute("hidden");
                }
            }
        }
    }

    /// Copy the text a copy button names to the clipboard, and say so on the button.
    pub fn copy(button: &Element) {
        let Some(text) = button
            .get_attribute("data-copy")
            .and_then(|id| document().get_element_by_id(&id))
            .and_then(|source| source.text_content())
        else {
            return;
        };
        let promise = window().navigator().clipboard().write_text(&text);
        let button = button.clone();
        leptos::task::spawn_local(async move {
            let said = match JsFuture::from(promise).await {
                Ok(_) => "Copied",
                Err(_) => "Could not copy: select the text and copy it",
            };
            button.set_text_content(Some(said));
        });
    }

    /// Close the open menus: all of them (Escape: focus goes back to the one it was in), or
    /// those a click at `clicked` fell outside of.
    pub fn close_menus(clicked: Option<Element>, escape: bool) {
        let Ok(open) = document().query_selector_all(
            "details.dropdown[open], details.columns-menu[open], details.site-menu[open]",
        ) else {
            return;
        };
        let focused = document().active_element();
        for i in 0..open.length() {
            let Some(menu) = open.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else {
                continue;
            };
            let inside =
                |e: &Option<Element>| e.as_ref().is_some_and(|e| menu.contains(Some(&**e)));
            if escape || !inside(&clicked) {
                // A menu holding another open one stays open for a click inside the inner one.
                let _ = menu.remove_attribute("open");
                if escape && inside(&focused) {
                    if let Ok(Some(summary)) = menu.query_selector("summary") {
                        if let Ok(summary) = summary.dyn_into::<web_sys::HtmlElement>() {
                            let _ = summary.focus();
                        }
                    }
                }
            }
        }
    }

    /// Live regions: follow the server's change stream, and poll while a region asks for it.
    pub fn follow_changes() {
        if let Ok(source) = web_sys::EventSource::new("/live") {
            let on_message =
                wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                    move |_: web_sys::MessageEvent| leptos::task::spawn_local(refresh()),
                );
            source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            // The page says when it is listening, so a test (or anything) that changes
            // something to watch it arrive can wait for that first.
            let on_open = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::Event)>::new(
                move |_: web_sys::Event| {
                    if let Some(body) = document().body() {
                        let _ = body.set_attribute("data-stream", "open");
                    }
                },
            );
            source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            // The stream lives as long as the page.
            on_open.forget();
            on_message.forget();
            std::mem::forget(source);
        }
        poll_while_asked();
    }

    fn poll_while_asked() {
        let asked = document()
            .query_selector("[data-poll]")
            .ok()
            .flatten()
            .is_some();
        if asked {
            set_timeout(
                || {
                    leptos::task::spawn_local(async {
                        refresh().await;
                        poll_while_asked();
                    })
                },
                std::time::Duration::from_millis(1000),
            );
        }
    }

    async fn refresh() {
        let href = window().location().href().unwrap_or_default();
        if let Ok(page) = fetch_page(&href).await {
            swap_live(&page);
            enable_kill_button();
        }
    }
}
