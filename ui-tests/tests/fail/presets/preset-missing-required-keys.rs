use oauth_clients::oauth_clients;

oauth_clients! {
    microsoft,
    apple { team_id: "ABCDE12345" },
    reddit,
}

fn main() {}
