//! The `#[stress_test]` attribute: keeps the annotated function untouched and registers it,
//! with its options, as a scenario of the swarm-harness runner.
//!
//! Everything generated reaches the runtime through `::swarm_harness::__private`, so users
//! never depend on `inventory` themselves. Misuse (a function that is not `async`, wrong
//! arguments, an unknown or repeated option, a malformed duration) is a compile error at the
//! offending span.

mod options;
mod signature;

use proc_macro::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// Registers an `async fn(user: &mut User) -> Result<..>` (or, with `params = [..]`,
/// `async fn(user: &mut User, param: &str) -> Result<..>`) as a stress-test scenario.
///
/// See the `swarm_harness` crate documentation for every option.
#[proc_macro_attribute]
pub fn stress_test(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item: proc_macro2::TokenStream = item.into();
    match expand(attr.into(), item.clone()) {
        Ok(tokens) => tokens.into(),
        // Keep the function itself, so the one error is not followed by unused-import or
        // missing-function errors elsewhere.
        Err(error) => {
            let mut tokens = error.to_compile_error();
            tokens.extend(item);
            tokens.into()
        }
    }
}

fn expand(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let options: options::Options = syn::parse2(attr)?;
    let function: syn::ItemFn = syn::parse2(item)?;
    let signature = signature::check(&function, options.params.is_some())?;
    let argument = &signature.argument;

    let ident = &function.sig.ident;
    let function_name = ident.to_string();
    let function_name = function_name.strip_prefix("r#").unwrap_or(&function_name);
    let display_name = options
        .name
        .as_ref()
        .map(|name| name.value())
        .unwrap_or_else(|| function_name.to_owned());
    let krate = quote!(::swarm_harness::__private);

    // The argument comes from the user through `ScenarioArg`: the user itself, or the client
    // it built when it started. A type that is neither fails there, at the argument's span.
    let get = quote_spanned! {argument.span()=>
        <#argument as #krate::ScenarioArg>::get(user).await?
    };
    let runner = match signature.shape {
        signature::Shape::Plain => quote! {{
            fn __swarm_run<'a>(user: &'a mut ::swarm_harness::User) -> #krate::ScenarioFuture<'a> {
                ::std::boxed::Box::pin(async move {
                    let argument = #get;
                    #krate::into_outcome(#ident(argument).await)
                })
            }
            #krate::Runner::Plain(__swarm_run)
        }},
        signature::Shape::Param => quote! {{
            fn __swarm_run<'a>(
                user: &'a mut ::swarm_harness::User,
                param: &'static str,
            ) -> #krate::ScenarioFuture<'a> {
                ::std::boxed::Box::pin(async move {
                    let argument = #get;
                    #krate::into_outcome(#ident(argument, param).await)
                })
            }
            #krate::Runner::Param(__swarm_run)
        }},
    };
    let client = quote_spanned! {argument.span()=>
        <#argument as #krate::ScenarioArg>::CLIENT
    };
    let http = optional(options.http.as_ref().map(|http| {
        let variant = syn::Ident::new(http, proc_macro2::Span::call_site());
        quote!(#krate::HttpClient::#variant)
    }));

    let hook = |path: &Option<syn::Path>| match path {
        None => quote!(::core::option::Option::None),
        Some(path) => quote! {{
            fn __swarm_hook<'a>(user: &'a mut ::swarm_harness::User) -> #krate::ScenarioFuture<'a> {
                ::std::boxed::Box::pin(async move { #krate::into_outcome(#path(user).await) })
            }
            ::core::option::Option::Some(__swarm_hook as #krate::HookFn)
        }},
    };
    let on_start = hook(&options.on_start);
    let on_stop = hook(&options.on_stop);
    // Hooks and shapes are compared by the path written, not by address: each registration
    // wraps them in a function of its own.
    let path_text = |path: &Option<syn::Path>| {
        optional(path.as_ref().map(|path| {
            let text = quote!(#path).to_string().replace(' ', "");
            quote!(#text)
        }))
    };
    let on_start_name = path_text(&options.on_start);
    let on_stop_name = path_text(&options.on_stop);
    let shape_name = path_text(&options.shape);

    let params: Vec<_> = options.params.iter().flatten().collect();
    let weight = options.weight.unwrap_or(1);
    let group = optional(options.group.as_ref().map(|group| quote!(#group)));
    let trial = optional(options.trial.as_ref().map(|trial| quote!(#trial)));
    let run = optional(options.run.as_ref().map(|run| quote!(#run)));
    let user_weight = optional(options.user_weight.map(|weight| quote!(#weight)));
    let fixed_count = optional(options.fixed_count.map(|count| quote!(#count)));
    let ignore = options.ignore;
    let wait = optional(options.wait.as_ref().map(|wait| wait.tokens(&krate)));
    let users = optional(options.users.map(|users| quote!(#users)));
    let hatch_rate = optional(options.hatch_rate.map(|rate| quote!(#rate)));
    let duration = optional(
        options
            .duration
            .map(|micros| quote!(::core::time::Duration::from_micros(#micros))),
    );
    let thresholds: Vec<_> = options.thresholds.iter().flatten().collect();
    let arrival_rate = optional(options.arrival_rate.map(|rate| quote!(#rate)));
    let max_users = optional(options.max_users.map(|users| quote!(#users)));
    let stages = optional(options.stages.as_ref().map(|stages| quote!(#stages)));
    let shape = optional(options.shape.as_ref().map(|path| {
        quote!({
            fn __swarm_shape() -> ::std::boxed::Box<dyn ::swarm_harness::LoadShape> {
                ::std::boxed::Box::new(#path())
            }
            __swarm_shape as fn() -> ::std::boxed::Box<dyn ::swarm_harness::LoadShape>
        })
    }));

    Ok(quote! {
        #function

        const _: () = {
            #krate::inventory::submit! {
                #krate::Scenario {
                    name: #display_name,
                    function: #function_name,
                    module: ::core::module_path!(),
                    file: ::core::file!(),
                    line: ::core::line!(),
                    params: &[#(#params),*],
                    weight: #weight,
                    group: #group,
                    trial: #trial,
                    run: #run,
                    user_weight: #user_weight,
                    fixed_count: #fixed_count,
                    ignore: #ignore,
                    wait: #wait,
                    users: #users,
                    hatch_rate: #hatch_rate,
                    duration: #duration,
                    thresholds: &[#(#thresholds),*],
                    arrival_rate: #arrival_rate,
                    max_users: #max_users,
                    stages: #stages,
                    shape: #shape,
                    shape_name: #shape_name,
                    client: #client,
                    http: #http,
                    on_start: #on_start,
                    on_start_name: #on_start_name,
                    on_stop: #on_stop,
                    on_stop_name: #on_stop_name,
                    runner: #runner,
                }
            }
        };
    })
}

fn optional(value: Option<proc_macro2::TokenStream>) -> proc_macro2::TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}
