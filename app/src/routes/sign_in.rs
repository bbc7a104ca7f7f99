//! The pages a visitor uses to get in: Sign in, Forgot password, Reset password, and
//! Accept invitation. Their forms post to the server's /auth/* endpoints, which answer with
//! a redirect, so they work the same with and without JavaScript.

use crate::components::error_note::ErrorNote;
use crate::functions::session::{check_reset_link, get_invitation, get_sign_in_options};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// A visitor's page: the tab's title ("… · Bandpool") and one card under its heading.
#[component]
fn AuthCard(title: &'static str, heading: &'static str, children: Children) -> impl IntoView {
    view! {
        <Title text=format!("{title} · Bandpool")/>
        <section class="card auth-card">
            <h1>{heading}</h1>
            {children()}
        </section>
    }
}

/// A new password and the same again (the server checks that they match and are long enough).
fn new_password(label: &'static str) -> impl IntoView {
    view! {
        <label>{label} <input type="password" name="password" autocomplete="new-password" minlength="12" required/></label>
        <label>"The same again" <input type="password" name="confirm" autocomplete="new-password" minlength="12" required/></label>
    }
}

fn query_value(name: &'static str) -> Memo<Option<String>> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|q| q.get(name)))
}

#[component]
pub fn SignIn() -> impl IntoView {
    let next = query_value("next");
    let signed_out = query_value("signed_out");
    let reset = query_value("reset");
    let options = Resource::new(|| (), |_| get_sign_in_options());
    view! {
        <AuthCard title="Sign in" heading="Sign in to Bandpool">
            {move || signed_out.get().map(|how| view! {
                <p class="notice" role="status">
                    {if how == "everywhere" { "You are signed out on every device." } else { "You are signed out." }}
                </p>
            })}
            {move || reset.get().map(|_| view! {
                <p class="notice" role="status">"Your password is changed, and every session was signed out. Sign in with the new password."</p>
            })}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match options.await {
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                        Ok(options) => {
                            let next_value = next.get_untracked().unwrap_or_default();
                            let sso_href = format!(
                                "/auth/sso?next={}",
                                crate::url::encode(&next_value)
                            );
                            view! {
                                {options.single_sign_on.then(|| view! {
                                    <a class="button primary sso" href=sso_href rel="external">"Sign in with single sign-on"</a>
                                })}
                                {options.local_accounts.then(|| view! {
                                    <form class="stack" method="post" action="/auth/sign-in">
                                        <input type="hidden" name="next" value=next_value.clone()/>
                                        <label>"Email" <input type="email" name="email" autocomplete="username" required value=kept_email()/></label>
                                        <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                                        <button type="submit" class="primary">"Sign in"</button>
                                    </form>
                                    <p><a href="/forgot-password">"Forgot your password?"</a></p>
                                })}
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </AuthCard>
    }
}

#[component]
pub fn ForgotPassword() -> impl IntoView {
    let sent = query_value("sent");
    view! {
        <AuthCard title="Forgot password" heading="Forgot your password?">
            {move || match sent.get() {
                Some(_) => view! {
                    <p class="notice" role="status">
                        "If that address has a Bandpool password, a link to choose a new one is on its way. It works once, for an hour."
                    </p>
                    <p><a href="/sign-in">"Back to sign-in"</a></p>
                }
                .into_any(),
                None => view! {
                    <p>"Enter your email address and we will send you a link to choose a new password."</p>
                    <form class="stack" method="post" action="/auth/forgot-password">
                        <label>"Email" <input type="email" name="email" autocomplete="username" required/></label>
                        <button type="submit" class="primary">"Send the link"</button>
                    </form>
                    <p><a href="/sign-in">"Back to sign-in"</a></p>
                }
                .into_any(),
            }}
        </AuthCard>
    }
}

#[component]
pub fn ResetPassword() -> impl IntoView {
    let token = query_value("token");
    let open = Resource::new(
        move || token.get(),
        |token| async move {
            match token {
                Some(token) => check_reset_link(token).await,
                None => Ok(false),
            }
        },
    );
    view! {
        <AuthCard title="Choose a new password" heading="Choose a new password">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match open.await {
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                        Ok(false) => view! {
                            <ErrorNote error=bandpool_domain::AppError::LinkExpired/>
                            <p><a href="/forgot-password">"Ask for a new link"</a></p>
                        }
                        .into_any(),
                        Ok(true) => view! {
                            <form class="stack" method="post" action="/auth/reset-password">
                                <input type="hidden" name="token" value=token.get_untracked().unwrap_or_default()/>
                                {new_password("New password (12 characters or more)")}
                                <button type="submit" class="primary">"Set the password"</button>
                            </form>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </AuthCard>
    }
}

#[component]
pub fn AcceptInvitation() -> impl IntoView {
    let token = query_value("token");
    let invitation = Resource::new(
        move || token.get(),
        |token| get_invitation(token.unwrap_or_default()),
    );
    view! {
        <AuthCard title="Invitation" heading="Join a tenant">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match invitation.await {
                        Err(error) => view! { <ErrorNote error/> <p>"Ask the person who invited you to send it again."</p> }.into_any(),
                        Ok(inv) => {
                            let token_value = token.get_untracked().unwrap_or_default();
                            let sso_href = format!("/auth/sso?invitation={}", crate::url::encode(&token_value));
                            view! {
                                <p>
                                    "You are invited to " <strong>{inv.tenant_name.clone()}</strong> " as "
                                    <strong data-role="">{inv.role.label()}</strong> ", as " <strong>{inv.email.clone()}</strong> "."
                                </p>
                                {inv.options.single_sign_on.then(|| view! {
                                    <a class="button primary sso" href=sso_href rel="external">"Accept with single sign-on"</a>
                                })}
                                {inv.options.local_accounts.then(|| view! {
                                    <form class="stack" method="post" action="/auth/invitation">
                                        <input type="hidden" name="token" value=token_value.clone()/>
                                        // An address with a password signs in with it; a new one chooses one.
                                        {if inv.has_password {
                                            view! { <label>"Your Bandpool password" <input type="password" name="password" autocomplete="current-password" required/></label> }.into_any()
                                        } else {
                                            new_password("Choose a password (12 characters or more)").into_any()
                                        }}
                                        <button type="submit" class="primary">"Accept and sign in"</button>
                                    </form>
                                })}
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </AuthCard>
    }
}

/// The email typed into a refused sign-in, so the person does not type it again.
fn kept_email() -> String {
    #[cfg(feature = "ssr")]
    {
        crate::serve::flash()
            .and_then(|f| f.kept)
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    String::new()
}
