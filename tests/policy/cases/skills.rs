//! Skill bins and `autoAllowSkills`.

use super::*;

fn skills_world(auto: bool) -> World {
    let mut w = world("allowlist", "on-miss")
        .file(json!({"version":1, "defaults": {"autoAllowSkills": auto}, "agents": {}}));
    w.fs.add_exe("/usr/local/bin/gog");
    w.path = "/usr/local/bin:/usr/bin:/bin".into();
    w.skills = vec![SkillTrust {
        name: "gog".into(),
        resolved_path: "/usr/local/bin/gog".into(),
    }];
    w
}

#[test]
fn case_108_skill_bin_allowed() {
    let d = skills_world(true).decide(&argv(&["gog", "calendar"]));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.segments[0].satisfied_by.as_ref().unwrap().by, "skills");
}

#[test]
fn case_109_path_selected_skill_tokens_never_trusted() {
    let w = skills_world(true);
    let mut r = argv(&["./gog"]);
    r.cwd = Some("/usr/local/bin".into());
    assert_eq!(w.outcome(&r), "ask");
    assert_eq!(w.outcome(&argv(&["/usr/local/bin/gog"])), "ask");
}

policy_case!(
    case_110_skills_off,
    skills_world(false),
    argv(&["gog", "calendar"]) => "ask",
);
