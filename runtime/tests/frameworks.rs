//! Logins through the framework integrations: axum + tower-sessions, actix-web + actix-session,
//! with the callback read from the query and from a `form_post` body.

use oauth_clients::{oauth_clients, Callback, Registry};
use oauth_clients_testing::TestProvider;

oauth_clients! {
    forge {
        authorize_url: "https://forge.com/login/oauth/authorize",
        access_token_url: "https://forge.com/login/oauth/access_token",
        api_base_url: "https://api.forge.com/",
        scope: "user:email",
    },
}

async fn provider_and_registry() -> (TestProvider, Registry<Providers>) {
    let provider = TestProvider::builder()
        .auto_approve("alice")
        .start()
        .await
        .unwrap();
    let registry = Providers::builder()
        .settings(provider.settings_for("forge"))
        .env_source(|_| None)
        .build()
        .unwrap();
    (provider, registry)
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> url::Url {
    assert_eq!(response.status(), 302, "{response:?}");
    url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap()
}

mod axum_app {
    use super::*;
    use axum::extract::{Form, Query, State};
    use axum::routing::get;
    use axum::Router;
    use oauth_clients::Redirect;
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

    #[derive(Clone)]
    struct App {
        registry: Registry<Providers>,
        callback: String,
    }

    async fn login(
        State(app): State<App>,
        session: Session,
    ) -> Result<Redirect, oauth_clients::Error> {
        app.registry
            .client::<Forge>()
            .authorize_redirect(&session, &app.callback)
            .await
    }

    async fn finish(
        app: &App,
        session: &Session,
        callback: &Callback,
    ) -> Result<String, oauth_clients::Error> {
        let forge = app.registry.client::<Forge>();
        let token = forge.authorize_access_token(session, callback).await?;
        let user: serde_json::Value = forge.get("user", &token).await?.json().unwrap();
        Ok(user["login"].as_str().unwrap_or_default().to_string())
    }

    async fn callback_get(
        State(app): State<App>,
        session: Session,
        Query(callback): Query<Callback>,
    ) -> Result<String, oauth_clients::Error> {
        finish(&app, &session, &callback).await
    }

    async fn callback_post(
        State(app): State<App>,
        session: Session,
        Form(callback): Form<Callback>,
    ) -> Result<String, oauth_clients::Error> {
        finish(&app, &session, &callback).await
    }

    #[tokio::test]
    async fn login_through_axum_with_query_and_form_post_callbacks() {
        let (provider, registry) = provider_and_registry().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = App {
            registry,
            callback: format!("{base}/callback"),
        };
        let router = Router::new()
            .route("/login", get(login))
            .route("/callback", get(callback_get).post(callback_post))
            .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false))
            .with_state(app);
        let server = tokio::spawn(async move { axum::serve(listener, router).await });

        let http = no_redirects();
        for form_post in [false, true] {
            let login = http.get(format!("{base}/login")).send().await.unwrap();
            assert_eq!(login.headers()["cache-control"], "no-store");
            let cookie = login.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_string();
            let authorize = location(&login);
            assert!(authorize.as_str().starts_with(&provider.url("authorize")));
            let back = location(&http.get(authorize).send().await.unwrap());
            let callback = Callback::from_url(&back);
            let response = if form_post {
                let form = [
                    ("code", callback.code.clone().unwrap()),
                    ("state", callback.state.clone().unwrap()),
                ];
                http.post(format!("{base}/callback"))
                    .header("cookie", &cookie)
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
            } else {
                http.get(back.as_str())
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .unwrap()
            };
            assert_eq!(response.status(), 200);
            assert_eq!(response.text().await.unwrap(), "alice");

            // Replaying the callback is refused with the error's status and message.
            let replay = http
                .get(back.as_str())
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(replay.status(), 400);
            assert_eq!(
                replay.text().await.unwrap(),
                "the callback's `state` for provider `forge` was already used"
            );
        }
        server.abort();
    }
}

mod actix_app {
    use super::*;
    use actix_session::storage::CookieSessionStore;
    use actix_session::{Session, SessionMiddleware};
    use actix_web::cookie::Key;
    use actix_web::{test, web, App, HttpResponse};

    struct State {
        registry: Registry<Providers>,
    }

    const CALLBACK: &str = "http://127.0.0.1:8080/callback";

    async fn login(
        state: web::Data<State>,
        session: Session,
    ) -> Result<oauth_clients::Redirect, oauth_clients::Error> {
        state
            .registry
            .client::<Forge>()
            .authorize_redirect(&session, CALLBACK)
            .await
    }

    async fn finish(
        state: &State,
        session: &Session,
        callback: &Callback,
    ) -> Result<HttpResponse, oauth_clients::Error> {
        let forge = state.registry.client::<Forge>();
        let token = forge.authorize_access_token(session, callback).await?;
        let user: serde_json::Value = forge.get("user", &token).await?.json().unwrap();
        Ok(HttpResponse::Ok().body(user["login"].as_str().unwrap_or_default().to_string()))
    }

    async fn callback_get(
        state: web::Data<State>,
        session: Session,
        callback: web::Query<Callback>,
    ) -> Result<HttpResponse, oauth_clients::Error> {
        finish(&state, &session, &callback).await
    }

    async fn callback_post(
        state: web::Data<State>,
        session: Session,
        callback: web::Form<Callback>,
    ) -> Result<HttpResponse, oauth_clients::Error> {
        finish(&state, &session, &callback).await
    }

    #[actix_web::test]
    async fn login_through_actix_with_query_and_form_post_callbacks() {
        let (provider, registry) = provider_and_registry().await;
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(State { registry }))
                .wrap(
                    SessionMiddleware::builder(CookieSessionStore::default(), Key::generate())
                        .cookie_secure(false)
                        .build(),
                )
                .route("/login", web::get().to(login))
                .route("/callback", web::get().to(callback_get))
                .route("/callback", web::post().to(callback_post)),
        )
        .await;
        let http = no_redirects();
        for form_post in [false, true] {
            let login =
                test::call_service(&app, test::TestRequest::get().uri("/login").to_request()).await;
            assert_eq!(login.status(), 302);
            let cookie = login.response().cookies().next().unwrap().into_owned();
            let authorize =
                url::Url::parse(login.headers().get("location").unwrap().to_str().unwrap())
                    .unwrap();
            let back = location(&http.get(authorize).send().await.unwrap());
            assert!(back.as_str().starts_with(CALLBACK));
            let callback = Callback::from_url(&back);
            let request = if form_post {
                test::TestRequest::post().uri("/callback").set_form([
                    ("code", callback.code.unwrap()),
                    ("state", callback.state.unwrap()),
                ])
            } else {
                test::TestRequest::get().uri(&format!("/callback?{}", back.query().unwrap()))
            };
            let response = test::call_service(&app, request.cookie(cookie).to_request()).await;
            assert_eq!(response.status(), 200);
            assert_eq!(test::read_body(response).await, "alice");
        }
        assert_eq!(provider.count("token.authorization_code"), 2);
    }
}
