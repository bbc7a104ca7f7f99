//! The browser entry point: hydrate the islands of the page the server rendered (the rest of
//! the page is plain HTML and needs nothing).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::hydrate_islands();
}
