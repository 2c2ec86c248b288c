//! A small fixture dataset for `serve-api --seed`, created through the same handlers the
//! rpcs use: a team, three users (one system admin), the team's two default channels plus
//! a private one, all with the three users as members, and a short thread. Returns what was made, so callers can print the ids.

use pluginapi_proto::pluginapi::{
    AddChannelMemberRequest, Channel, CreateChannelRequest, CreatePostRequest,
    CreateTeamMemberRequest, CreateTeamRequest, CreateUserRequest, GetChannelByNameRequest, Post,
    Team, UpdateUserRolesRequest, User,
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
        effect: None,
    };
    let fail = |step: &str, e: pluginapi_proto::pluginapi::AppError| {
        format!("seeding failed at {step}: {}: {}", e.id, e.message)
    };
    let mut seeded = Seeded::default();
    // CreateUser always makes plain users (upstream forces `system_user`); the admin gets
    // its role afterwards, as a plugin would do it.
    for (name, admin) in [("alice", false), ("bob", false), ("admin", true)] {
        let user = handlers::create_user(
            &mut cx,
            CreateUserRequest {
                user: Some(User {
                    username: name.into(),
                    email: format!("{name}@example.com"),
                    password: "Conformance-Pw1!".into(),
                    first_name: name.into(),
                    ..Default::default()
                }),
            },
        )
        .map_err(|e| fail("CreateUser", e))?
        .user
        .ok_or("CreateUser returned no user")?;
        if admin {
            handlers::update_user_roles(
                &mut cx,
                UpdateUserRolesRequest {
                    user_id: user.id.clone(),
                    new_roles: "system_user system_admin".into(),
                },
            )
            .map_err(|e| fail("UpdateUserRoles", e))?;
        }
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
    // Creating a team makes town-square and off-topic, and joining it joins them.
    for name in ["town-square", "off-topic"] {
        let channel = handlers::get_channel_by_name(
            &mut cx,
            GetChannelByNameRequest {
                team_id: team.id.clone(),
                name: name.into(),
                include_deleted: false,
            },
        )
        .map_err(|e| fail("GetChannelByName", e))?
        .channel
        .ok_or("GetChannelByName returned no channel")?;
        seeded.channel_ids.push(channel.id);
    }
    let lab = handlers::create_channel(
        &mut cx,
        CreateChannelRequest {
            channel: Some(Channel {
                team_id: team.id.clone(),
                name: "conformance-lab".into(),
                display_name: "Conformance Lab".into(),
                r#type: 2,
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
                channel_id: lab.id.clone(),
                user_id: user_id.clone(),
            },
        )
        .map_err(|e| fail("AddChannelMember", e))?;
    }
    seeded.channel_ids.push(lab.id);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_an_empty_store_with_readable_objects() {
        let mut store = Store::default();
        let seeded = seed(&mut store, "com.example.seed").unwrap();
        assert_eq!(seeded.user_ids.len(), 3);
        assert_eq!(
            store.users.users[&seeded.user_ids[2]].roles,
            "system_user system_admin"
        );
        assert_eq!(seeded.channel_ids.len(), 3);
        assert_eq!(seeded.post_ids.len(), 2);
        assert!(store.teams.teams.contains_key(&seeded.team_id));
        for c in &seeded.channel_ids {
            for u in &seeded.user_ids {
                assert!(store.channels.members.contains_key(&(c.clone(), u.clone())));
            }
        }
        let reply = &store.posts.posts[&seeded.post_ids[1]];
        assert_eq!(reply.root_id, seeded.post_ids[0]);
    }
}
