//! What the two charts share: the figure that lays hover areas over the SVG the server drew,
//! and the tooltip that shows the hovered area's details.

use bandpool_domain::chart::Rect;
use leptos::ev::MouseEvent;
use leptos::prelude::*;

/// CSS placing an overlay element over a chart rectangle, in percent of the chart's size.
pub fn overlay_style(rect: &Rect, width: f64, height: f64) -> String {
    format!(
        "left:{:.3}%;top:{:.3}%;width:{:.3}%;height:{:.3}%",
        rect.x / width * 100.0,
        rect.y / height * 100.0,
        rect.w / width * 100.0,
        rect.h / height * 100.0
    )
}

/// The hovered area's details and where its tooltip stands (a CSS `left:` over a bar, `top:`
/// beside a cylinder section); nothing while the pointer is outside every area.
#[derive(Clone, Copy, Default)]
pub struct Hover(RwSignal<Option<(String, String)>>);

impl Hover {
    /// The handler that shows `text` at `place` when the pointer enters an area.
    pub fn show(self, text: String, place: String) -> impl Fn(MouseEvent) + Clone + 'static {
        move |_| self.0.set(Some((text.clone(), place.clone())))
    }

    /// The handler that hides the tooltip when the pointer leaves an area.
    pub fn hide(self) -> impl Fn(MouseEvent) + Clone + 'static {
        move |_| self.0.set(None)
    }
}

/// A chart at its aspect ratio: the server's SVG (shown with or without JavaScript), the
/// hover `areas` over it, the tooltip of the hovered one, then `children` (a caption).
#[component]
pub fn ChartFigure(
    class: &'static str,
    width: f64,
    height: f64,
    svg: String,
    areas: AnyView,
    hover: Hover,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <figure class=class style=format!("aspect-ratio:{width}/{height}")>
            <div class="chart-svg" aria-hidden="true" inner_html=svg></div>
            <div class="chart-overlay">{areas}</div>
            {move || {
                hover
                    .0
                    .get()
                    .map(|(text, place)| view! { <div class="chart-tooltip" role="tooltip" style=place>{text}</div> })
            }}
            {children.map(|children| children())}
        </figure>
    }
}
