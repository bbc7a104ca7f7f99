//! Users (Owners only): the tenant's members and their roles, open invitations, and a form
//! to invite someone by email. The last Owner can be neither removed nor demoted.

use crate::components::card::{Card, PageHead};
use crate::components::loaded::loaded;
use crate::components::row_action::RowAction;
use crate::components::table::{data_table, table_or};
use crate::functions::users::{
    get_team, ChangeRole, InviteUser, ReinviteUser, RemoveMember, RevokeInvitation,
};
use bandpool_domain::auth::Role;
use bandpool_domain::format::format_datetime;
use leptos::prelude::*;

fn role_options(selected: Role) -> impl IntoView {
    Role::ALL
        .into_iter()
        .map(|role| view! { <option value=role.as_str() selected=role == selected>{role.label()}</option> })
        .collect_view()
}

#[component]
pub fn Users() -> impl IntoView {
    let invite = ServerAction::<InviteUser>::new();
    let reinvite = ServerAction::<ReinviteUser>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let change = ServerAction::<ChangeRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let team = Resource::new(
        move || {
            (
                invite.version().get(),
                reinvite.version().get(),
                revoke.version().get(),
                change.version().get(),
                remove.version().get(),
            )
        },
        |_| get_team(),
    );
    view! {
        <PageHead title="Users"/>
        {loaded(team, "Loading users…", move |team| view! {
                <Card heading="Members">
                    {data_table(
                        "data members",
                        view! { <th>"Email"</th><th>"Role"</th><th>"Last sign-in"</th><th><span class="sr-only">"Actions"</span></th> },
                        team.members.into_iter().map(|m| {
                            let last = m.last_sign_in_at.map(format_datetime).unwrap_or_else(|| "never".into());
                            let select_id = format!("role-{}", m.user_id);
                            let (label_for, role) = (select_id.clone(), m.role);
                            let (change_id, remove_id) = (m.user_id.clone(), m.user_id.clone());
                            let (row_email, cell_email, label_email) = (m.email.clone(), m.email.clone(), m.email.clone());
                            view! {
                                <tr data-member=row_email>
                                    <td>{cell_email}</td>
                                    <td>
                                        <ActionForm action=change>
                                            <input type="hidden" name="user_id" value=change_id/>
                                            <label class="sr-only" for=label_for>"Role of " {label_email}</label>
                                            <select name="role" id=select_id>{role_options(role)}</select>
                                            <button type="submit">"Change role"</button>
                                        </ActionForm>
                                    </td>
                                    <td>{last}</td>
                                    <td>
                                        <RowAction action=remove fields=vec![("user_id", remove_id)] label="Remove" danger=true/>
                                    </td>
                                </tr>
                            }
                        }).collect(),
                    )}
                </Card>
                <Card heading="Invitations">
                    {table_or(
                        view! { <p class="muted">"No open invitations."</p> },
                        "data invitations",
                        view! { <th>"Email"</th><th>"Role"</th><th>"Invited by"</th><th>"Link expires"</th><th><span class="sr-only">"Actions"</span></th> },
                        team.invitations.into_iter().map(|i| view! {
                            <tr data-invitation=i.email.clone()>
                                <td>{i.email.clone()}</td>
                                <td>{i.role.label()}</td>
                                <td>{i.invited_by.clone()}</td>
                                <td>{format_datetime(i.expires_at)} {i.expired.then_some(" (expired)")}</td>
                                <td class="actions">
                                    <RowAction action=reinvite fields=vec![("invitation_id", i.id.clone())] label="Re-invite"/>
                                    <RowAction action=revoke fields=vec![("invitation_id", i.id.clone())] label="Withdraw" danger=true/>
                                </td>
                            </tr>
                        }).collect(),
                    )}
                </Card>
                <Card heading="Invite someone">
                    <ActionForm action=invite>
                        <div class="inline-form">
                            <label>"Email" <input type="email" name="email" required/></label>
                            <label for="invite-role">"Role"</label>
                            <select id="invite-role" name="role">{role_options(Role::Reviewer)}</select>
                            <button type="submit" class="primary">"Send invitation"</button>
                        </div>
                    </ActionForm>
                    <p class="muted">"Owner: everything, users and roles included. Admin: everything but users and roles. Reviewer: read-only, CSV exports included."</p>
                </Card>
            }
            .into_any()
        )}
    }
}
