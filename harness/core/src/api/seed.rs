//! A small fixture dataset for `serve-api --seed`, created through the same handlers the
//! rpcs use: a team, three users (one system admin), two channels with members, and a
//! short thread. Returns what was made, so callers can print the ids.

use pluginapi_proto::pluginapi::{
    AddChannelMemberRequest, Channel, CreateChannelRequest, CreatePostRequest,
    CreateTeamMemberRequest, CreateTeamRequest, CreateUserRequest, Post, Team, User,
};
use serde::Serialize;

use super::handlers::{self, Cx, Store};

/// The ids of the seeded objects.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Seeded {
    pub team_id: String,
    pub user_ids: Vec<String>,
    pub channel_ids: Vec<String>,
    pub post_ids: Vec<String>,
}

/// Fills `store`; an error names the step that failed.
pub fn seed(store: &mut Store, plugin_id: &str) -> Result<Seeded, String> {
    let mut cx = Cx {
        store,
        plugin_id,
        now: handlers::common::now_ms(),
        rpc: "seed",
    };
    let fail = |step: &str, e: pluginapi_proto::pluginapi::AppError| {
        format!("seeding failed at {step}: {}: {}", e.id, e.message)
    };
    let mut seeded = Seeded::default();
    for (name, roles) in [
        ("alice", "system_user"),
        ("bob", "system_user"),
        ("admin", "system_user system_admin"),
    ] {
        let user = handlers::create_user(
            &mut cx,
            CreateUserRequest {
                user: Some(User {
                    username: name.into(),
                    email: format!("{name}@example.com"),
                    password: "Passw0rd!".into(),
                    first_name: name.into(),
                    roles: roles.into(),
                    ..Default::default()
                }),
            },
        )
        .map_err(|e| fail("CreateUser", e))?
        .user
        .ok_or("CreateUser returned no user")?;
        seeded.user_ids.push(user.id);
    }
    let team = handlers::create_team(
        &mut cx,
        CreateTeamRequest {
            team: Some(Team {
                name: "conformance".into(),
                display_name: "Conformance".into(),
                r#type: 1,
                ..Default::default()
            }),
        },
    )
    .map_err(|e| fail("CreateTeam", e))?
    .team
    .ok_or("CreateTeam returned no team")?;
    seeded.team_id = team.id.clone();
    for user_id in &seeded.user_ids {
        handlers::create_team_member(
            &mut cx,
            CreateTeamMemberRequest {
                team_id: team.id.clone(),
                user_id: user_id.clone(),
            },
        )
        .map_err(|e| fail("CreateTeamMember", e))?;
    }
    for (name, display) in [("town-square", "Town Square"), ("off-topic", "Off-Topic")] {
        let channel = handlers::create_channel(
            &mut cx,
            CreateChannelRequest {
                channel: Some(Channel {
                    team_id: team.id.clone(),
                    name: name.into(),
                    display_name: display.into(),
                    r#type: 1,
                    ..Default::default()
                }),
            },
        )
        .map_err(|e| fail("CreateChannel", e))?
        .channel
        .ok_or("CreateChannel returned no channel")?;
        for user_id in &seeded.user_ids {
            handlers::add_channel_member(
                &mut cx,
                AddChannelMemberRequest {
                    channel_id: channel.id.clone(),
                    user_id: user_id.clone(),
                },
            )
            .map_err(|e| fail("AddChannelMember", e))?;
        }
        seeded.channel_ids.push(channel.id);
    }
    let mut root_id = String::new();
    for (i, message) in [
        "Welcome to the conformance team!",
        "Thanks, glad to be here.",
    ]
    .iter()
    .enumerate()
    {
        let post = handlers::create_post(
            &mut cx,
            CreatePostRequest {
                post: Some(Post {
                    channel_id: seeded.channel_ids[0].clone(),
                    user_id: seeded.user_ids[i].clone(),
                    message: message.to_string(),
                    root_id: root_id.clone(),
                    ..Default::default()
                }),
            },
        )
        .map_err(|e| fail("CreatePost", e))?
        .post
        .ok_or("CreatePost returned no post")?;
        if root_id.is_empty() {
            root_id = post.id.clone();
        }
        seeded.post_ids.push(post.id);
    }
    Ok(seeded)
}
